"""A labelled Chinese PII set built from public patterns, in two disjoint halves: ``dev`` to tune the
detectors on and ``test`` to report.

    >>> cases = labelled_chinese_pii_cases(1000, seed=1, split="test")   # [(text, [(kind, start, end), …]), …]
    >>> scores = score_detector(PiiRedactor(), cases)                     # from lmforge.data.pii_eval

The halves share no sentence template, no given name and no negative template; the generators of the
values are shared (they follow the public formats, which is what a detector must know). Values are valid
by construction: 身份证号 with a real area code, a real birth date and the GB 11643 check character; mobile
numbers with allocated prefixes (China Mobile, Unicom, Telecom); landlines with real area codes; UnionPay
numbers with real bank BINs and a Luhn check digit; Visa/Mastercard numbers of Chinese banks; e-mail at the
common Chinese providers. About a third of the sentences hold only look-alikes that must not be flagged:
order and tracking numbers, timestamps, dates, prices, ID numbers with a wrong check character, card numbers
failing Luhn, invalid birth dates, and words that begin with a surname character (高兴, 黄金, 马上 …) or
sentences with a title but no name (经理说 …).
"""

from __future__ import annotations

import random

from lmforge.data.checksums import luhn_complete
from lmforge.data.chinese_pii import ID_CHECK, ID_WEIGHTS

AREAS = ["110105", "110108", "310104", "310115", "440305", "440106", "510107", "330106", "320102", "420106",
         "610113", "500103", "210102", "370202", "350203", "430104", "120101", "130102", "410105", "530102",
         "450103", "520102", "230103", "220102", "140105", "340104", "360102", "620102", "650102", "460105"]
MOBILE_PREFIXES = ["134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182",
                   "183", "187", "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "180",
                   "181", "189", "177", "199", "166", "198", "191", "173"]
AREA_CODES = ["010", "021", "020", "022", "023", "0755", "0571", "025", "027", "028", "029", "0512", "0531"]
UNIONPAY_BINS = ["622202", "621700", "622848", "621483", "622588", "621226", "622700", "621661", "622609",
                 "623668", "621799", "622262"]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
            "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴")
COMPOUND = ["欧阳", "司马", "上官", "诸葛", "慕容", "司徒"]
GIVEN = {"dev": ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "建华", "秀英", "志强", "海燕", "晓东",
                 "文博", "子涵", "梓萱", "浩然", "一诺", "明辉", "丽娟", "国庆", "春梅", "欣怡", "宇航", "俊杰",
                 "雨桐", "思远", "佳琪"],
         "test": ["勇", "艳", "杰", "娟", "涛", "超", "霞", "平", "刚", "鹏", "桂英", "建国", "玉兰", "晓明",
                  "秀兰", "文静", "子轩", "欣妍", "浩宇", "诗涵", "志伟", "丽华", "海波", "金凤", "嘉怡", "俊熙",
                  "梦琪", "博文", "雪梅", "天佑"]}
TITLES = {"dev": ["先生", "女士", "经理", "老师"], "test": ["医生", "小姐", "主任", "律师", "先生", "女士"]}
EMAIL_HOSTS = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "gmail.com", "aliyun.com",
               "company.com.cn", "outlook.com"]
PINYIN = ["zhangwei", "wangfang", "li.na", "liuyang", "chenjing", "yangfan", "huang_lei", "zhaomin", "wu.qiang",
          "zhou2023", "xu.hui", "sun_li", "ma.jun", "zhuxiaoming", "hu_tao"]

TEMPLATES = {
    "dev": [
        "您好，我叫{PERSON}，手机号是{PHONE}，麻烦尽快处理。",
        "收件人：{PERSON}，电话：{PHONE}，地址：北京市海淀区中关村大街1号。",
        "我的身份证号是{CN_ID}，请帮我核实一下实名信息。",
        "请把退款打到我的银行卡{BANK_CARD}，户名{PERSON}。",
        "有问题可以发邮件到{EMAIL}，或者打{PHONE}找{PERSON:title}。",
        "{PERSON:title}您好，您尾号的信用卡{CREDIT_CARD}本期账单已出。",
        "联系人：{PERSON}  联系电话：{PHONE}  邮箱：{EMAIL}",
        "客户{PERSON}反映，身份证{CN_ID}无法通过验证。",
        "昨天{PERSON}打电话过来，说卡号{BANK_CARD}被冻结了。",
        "尊敬的{PERSON}，您的验证码已发送至{PHONE}，请勿泄露。",
        "麻烦转告{PERSON:title}，明天上午十点开会。",
        "申请人姓名：{PERSON}，证件号码：{CN_ID}，开户行：中国工商银行。",
        "我是{PERSON}，上周在你们店买的手机坏了。",
        "{PERSON}的邮箱是{EMAIL}，有事直接联系。",
        "座机{PHONE:landline}，工作日九点到六点有人接听。",
        "工资卡号{BANK_CARD}，持卡人{PERSON}，请财务核对。",
        "刚才和{PERSON}确认过了，货已经发出。",
        "给{PERSON}打个电话吧，号码{PHONE}。",
    ],
    "test": [
        "你好，我是{PERSON}，我的电话{PHONE}，订单一直没发货。",
        "寄件人{PERSON}，手机{PHONE}，寄往上海市浦东新区。",
        "身份证：{CN_ID}，姓名：{PERSON}，请核对后办理。",
        "银行卡号：{BANK_CARD}，开户人：{PERSON}。",
        "请发简历到{EMAIL}，联系人{PERSON:title}。",
        "您的信用卡{CREDIT_CARD}于今日消费人民币520元。",
        "感谢{PERSON:title}的耐心解答，问题已经解决了。",
        "用户{PERSON}的身份证号码{CN_ID}已通过实名认证。",
        "{PERSON}说他的卡{BANK_CARD}昨天被盗刷了。",
        "亲爱的{PERSON}，您的快递已到驿站，如有疑问请致电{PHONE}。",
        "我们的客服邮箱是{EMAIL}，二十四小时内回复。",
        "患者{PERSON}，身份证号{CN_ID}，预约了周三的门诊。",
        "办公电话{PHONE:landline}，手机{PHONE}，都可以找到我。",
        "请{PERSON:title}把合同扫描件发到{EMAIL}。",
        "{PERSON}和{PERSON}都参加了昨天的培训。",
        "退款请转到{PERSON}名下的卡：{BANK_CARD}",
        "负责人{PERSON}，电话{PHONE}，有事随时联系。",
        "已通知{PERSON:title}，他说下午回电话。",
    ],
}
NEGATIVES = {
    "dev": [
        "订单号{order18}已发货，预计三天内送达。",
        "您的快递单号是SF{d13}，请注意查收。",
        "交易时间：2023-12-{dd} 10:{mm}:45，金额¥1,{d3}.00。",
        "这个月一共花了{d5}元，比上个月多了不少。",
        "流水号{luhn19}，请保存好凭证。",
        "经理说明天上午给您回复。",
        "今天真高兴，黄金价格终于跌了。",
        "身份证号{badid}提示格式错误，请重新输入。",
        "会员编号{d11}的积分已到账。",
        "马上就到，请在门口等一下。",
        "时间戳{ts}对应的日志在服务器上。",
        "卡号{badcard}校验失败，请检查。",
        "请问医生几点开始上班？",
        "发票号码{d20}，税额{d3}.50元。",
    ],
    "test": [
        "订单{order19}还没有退款，已经等了一周。",
        "运单号YT{d13}显示已签收，但我没收到。",
        "下单时间{ts_text}，实付款{d4}.90元。",
        "价格从{d5}元降到了{d4}元，太划算了。",
        "交易号{luhn16}，如有问题请联系客服。",
        "这位老师讲得很好，同学们都很喜欢。",
        "周末白天不在家，方便的话晚上送货。",
        "输入的证件号{badid}校验位不对。",
        "第{d3}期的中奖号码是{d7}。",
        "石油和黄金都涨了，市场很不稳定。",
        "批次{d14}的产品已经召回。",
        "出生日期不对的号码{baddate}无法注册。",
        "总经理办公室在十八楼。",
        "工单{d12}已处理完毕，感谢您的耐心。",
    ],
}


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def _id_number(rng: random.Random, check: str = "right", birth: str = "valid") -> str:
    year, month, day = rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)
    if birth == "invalid":
        month, day = rng.choice([(2, 30), (13, 1), (4, 31), (0, 10)])
    body = f"{rng.choice(AREAS)}{year}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    right = ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS)) % 11]
    if check == "right":
        char = right
        if char == "X" and rng.random() < 0.2:
            char = "x"
    else:
        char = rng.choice([c for c in "0123456789X" if c != right])
    return body + char


def _grouped(rng: random.Random, number: str, size: int = 4) -> str:
    sep = rng.choice(["", "", " ", "-"])
    return sep.join(number[i:i + size] for i in range(0, len(number), size)) if sep else number


def _value(kind: str, form: str, rng: random.Random, split: str) -> str:
    if kind == "CN_ID":
        return _id_number(rng)
    if kind == "PHONE":
        if form == "landline":
            area = rng.choice(AREA_CODES)
            local = str(rng.randint(2, 8)) + "".join(rng.choice("0123456789") for _ in range(7))  # 8 digits
            return rng.choice([f"{area}-{local}", f"({area}){local}", f"{area}-{local}"])
        number = rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))
        sep = rng.choice(["", "", "", " ", "-"])
        local = f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
        return rng.choice(["", "", "", "+86 ", "+86-", "0086 "]) + local
    if kind == "BANK_CARD":
        length = rng.choice([16, 19, 19])
        bin_ = rng.choice(UNIONPAY_BINS)
        return _grouped(rng, luhn_complete(bin_ + "".join(rng.choice("0123456789")
                                                             for _ in range(length - len(bin_) - 1))))
    if kind == "CREDIT_CARD":
        prefix = rng.choice(["4", "51", "52", "53", "54", "55"])
        return _grouped(rng, luhn_complete(prefix + "".join(rng.choice("0123456789") for _ in range(15 - len(prefix)))))
    if kind == "EMAIL":
        user = rng.choice([rng.choice(PINYIN), rng.choice(PINYIN) + str(rng.randint(1, 999)), _digits(rng, rng.randint(6, 10))])
        return f"{user}@{rng.choice(EMAIL_HOSTS)}"
    surname = rng.choice(COMPOUND) if rng.random() < 0.05 else rng.choice(SURNAMES)
    if form == "title":
        return surname if rng.random() < 0.5 else surname + rng.choice(GIVEN[split])
    return surname + rng.choice(GIVEN[split])


def _negative(template: str, rng: random.Random) -> str:
    bad_card = luhn_complete("622202" + "".join(rng.choice("0123456789") for _ in range(12)))
    bad_card = bad_card[:-1] + str((int(bad_card[-1]) + rng.randint(1, 9)) % 10)
    fields = {f"d{n}": _digits(rng, n) for n in (3, 4, 5, 7, 11, 12, 13, 14, 20)}
    fields.update(dd=f"{rng.randint(1, 28):02d}", mm=f"{rng.randint(0, 59):02d}",
                  order18="2023" + "".join(rng.choice("0123456789") for _ in range(14)),
                  order19="3" + "".join(rng.choice("0123456789") for _ in range(18)),
                  luhn19=luhn_complete("6" + "".join(rng.choice("0123456789") for _ in range(17))),
                  luhn16=luhn_complete("62" + "".join(rng.choice("0123456789") for _ in range(13))),
                  badid=_id_number(rng, check="wrong"), baddate=_id_number(rng, birth="invalid"),
                  badcard=bad_card, ts=str(rng.randint(1_600_000_000, 1_750_000_000)),
                  ts_text=f"2024年{rng.randint(1, 12)}月{rng.randint(1, 28)}日 {rng.randint(0, 23):02d}:"
                          f"{rng.randint(0, 59):02d}")
    return template.format(**fields)


def labelled_chinese_pii_cases(n: int = 1000, seed: int = 0, split: str = "test"
                               ) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """``n`` Chinese sentences of ``split`` ("dev" or "test") with their gold PII spans; about a third hold
    only look-alikes (no gold span)."""
    if split not in TEMPLATES:
        raise ValueError(f"split must be one of {', '.join(TEMPLATES)}, got {split!r}")
    rng = random.Random(f"{split}-{seed}")
    cases = []
    for _ in range(n):
        if rng.random() < 0.33:
            cases.append((_negative(rng.choice(NEGATIVES[split]), rng), []))
            continue
        template, text, spans, pos = rng.choice(TEMPLATES[split]), "", [], 0
        while pos < len(template):
            start = template.find("{", pos)
            if start < 0:
                text += template[pos:]
                break
            end = template.index("}", start)
            kind, _, form = template[start + 1:end].partition(":")
            text += template[pos:start]
            if kind == "PERSON" and form == "title":
                value = _value(kind, form, rng, split)
                spans.append((kind, len(text), len(text) + len(value)))
                text += value + rng.choice(TITLES[split])
            else:
                value = _value(kind, form, rng, split)
                spans.append((kind, len(text), len(text) + len(value)))
                text += value
            pos = end + 1
        cases.append((text, spans))
    return cases


def resume_name_cases(path, limit: int | None = None) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """Resume NER (Zhang & Yang, ACL 2018; one character and its BMES tag per line) sentences with their
    ``NAME`` entities as gold PERSON spans: real Chinese names in real text."""
    from pathlib import Path

    cases, chars, spans, start = [], [], [], None
    for line in [*Path(path).read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if chars:
                cases.append(("".join(chars), [("PERSON", s, e) for s, e in spans]))
                if limit and len(cases) >= limit:
                    break
            chars, spans, start = [], [], None
            continue
        char, _, tag = line.rpartition(" ")
        position = len(chars)
        chars.append(char or " ")
        if tag in ("B-NAME", "S-NAME"):
            start = position
        if tag in ("E-NAME", "S-NAME") and start is not None:
            spans.append((start, position + 1))
            start = None
        elif not tag.endswith("-NAME"):
            start = None
    return cases
