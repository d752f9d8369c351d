"""Chinese person names without a model download: a surname gazetteer, context cues and jieba's tagger.

    >>> finder = ChineseNameFinder()
    >>> [text[s:e] for s, e in finder.spans(text := "您好，我叫张伟，请转告李经理，欧阳娜娜也来。")]
    ['张伟', '李', '欧阳娜娜']

A name is a surname from the gazetteer (the ~300 most frequent single surnames and the common compound ones,
欧阳, 司马 …) followed by one or two given-name characters, found where the context says a person is meant:

- after a cue that introduces a person (我叫, 我是, 姓名：, 联系人, 收件人, 客户, 尊敬的 …);
- before a title or form of address (先生, 女士, 经理, 老师, 医生 …): "王先生" counts the surname alone;
- as a person name (``nr``) in jieba's part-of-speech tagger, when its given-name characters are among the
  common ones (so that 向东走 or 高兴 are not names);
- again, anywhere in the same text, once a full name was found by one of the rules above.

What it misses: given names alone (小明), nicknames (老王, 小李), names with rare characters and no cue, and
non-Han names. jieba is optional: without it the cue rules alone run (lower recall, bench/RESULTS.md).
"""

from __future__ import annotations

import logging
import re

# The most frequent Chinese surnames (Ministry of Public Security household-register ranking and the
# Hundred Family Surnames), most frequent first.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向"
    "汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单"
    "季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄"
    "窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查"
    "麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖"
    "练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊乌母裘亓修邰赫杭况那宿"
    "鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由洪鞠"
)
COMMON_SURNAMES = frozenset(SURNAMES[:100])
SINGLE_SURNAMES = frozenset(SURNAMES)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
                     "令狐", "夏侯", "独孤", "南宫", "西门", "端木", "百里", "呼延", "轩辕", "太史", "澹台", "申屠",
                     "闻人", "钟离", "万俟", "东郭", "公冶", "宗政")
# Characters common in given names (the second character of a two-character given name must be one of them,
# as must jieba-found names' given characters).
GIVEN_CHARS = frozenset(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞斌宇浩凯健俊峰建国志海波辉亮林文晨雪琳婷颖"
    "倩欣怡佳琪雨轩涵梓萱然航博思远嘉妍诺曦东红梅淑珍德永刚鑫晶慧莉燕凤洁琴云彬丹宁瑶璐楠蕾薇露菲芬蓉翠娥"
    "桂兰秀珍丽娟玲霞春燕秋菊冬梅夏荷金银宝福禄寿喜贵荣昌盛兴旺发达成功利仁义礼智信忠孝廉耻勤俭朴诚毅恒"
    "立新民生安乐康泰和顺祥瑞吉庆祖光耀宗祺祯禧彤蔚晗昊旭阳昕晓曼妮娅婉婷婕媛嫣姝姗娴雅静怡悦欢畅澜涛浪"
    "泽洲沛润清源溪渊湘江河湖川山岳峻岚崇嵩松柏杨柳桐梧枫桦楠榕森荣茂蓬苗芝兰蕙芸芷萌茜莎莹莺鹃鸿鹤凤凰"
    "麟龙虎豹彪骏驰腾跃翔翼羽振兴隆威武雄豪杰英俊秀美丽倩晴霖雯露霜霏震雷电弘宏鸣铭钧锋锐钊铮镇鑫钰琦琳"
    "瑜璇瑾瑞珊珠琼玮炜烨煜熠灿烁炎焱亮辉耀晖晔昀晟景旻显晋晨晗昭暄暖曜卓越超凡奇伦佩依倪仪佑佐俊傲仕伯"
    "仲叔季昆岩磊石坚刚正直方圆中华天地人和海洋洪波浩瀚泓沁淼涵溢潇湛滢澄澈灵秀慧敏聪颖睿哲思远志达辰宸"
    "轩宇航帆舟楚卿尧舜禹汤文武周秦汉唐宋元明清珂琰琛璋璟瑛莲蓓馨艺芮菁萱蒙蒂葳蕊薰凯恺悦愉怡恬惠慈爱"
    "心忆念恩泉诗书画琴棋谦逊让敬尊崎嘉喆翊翀煊琨珺琬琪珏玥玲珍珑瑶颐韵韬韩骞驹骁骋子一若小"
)
# Characters that end a name rather than continue it (particles, verbs and nouns that follow names).
STOP_CHARS = frozenset("的了是在和与及或说讲问叫给向对把被让将就都也还又再很最已正要会能可想来去到从由为于"
                       "先女老经理师生客户用您你我他她它们这那哪个位名号码电话手机邮箱卡账订单，。、；：！？"
                       "副级司总部科厂长兼职监事董局院处组店首席公系省市县区镇村路年月日届期员")
# Surnames that are far more often a verb or a preposition (任职, 于是, 和, 向): only with a strong cue.
AMBIGUOUS_SURNAMES = frozenset("任于和向过把被为从与及常时")
# Words that follow an organisation's short name, not a person's (荣正投资, 恩华药业).
ORG_AFTER = ("药业", "投资", "基金", "集团", "公司", "科技", "股份", "银行", "医院", "大学", "有限", "控股", "实业",
             "电子", "机电", "证券", "保险", "地产", "置业", "传媒", "国际", "信息", "能源", "化工", "制药", "电器",
             "律师事务所", "会计师事务所", "啤酒", "光电", "软件", "事业", "红外", "银业", "食品", "电气", "纺织",
             "汽车", "物流", "建设", "环保", "矿业", "钢铁", "百货", "商贸", "贸易", "酒店", "餐饮", "服饰", "医药",
             "生物", "材料", "设备", "产业")
PREFIX_CUES = ("我叫", "我是", "名叫", "叫做", "姓名", "联系人", "收件人", "收货人", "寄件人", "客户", "用户",
               "患者", "持卡人", "户名", "开户人", "负责人", "经办人", "申请人", "签收人", "同事", "尊敬的",
               "亲爱的", "本人", "法定代表人", "法人", "业主", "乘客", "学员", "家长", "转告", "联系", "找", "致")
TITLE_CUES = ("先生", "女士", "小姐", "总经理", "经理", "老师", "医生", "大夫", "主任", "律师", "教授", "师傅",
              "阿姨", "同学", "警官", "科长", "处长", "部长", "局长", "院长", "校长", "总监", "工程师", "董事长",
              "护士", "专员", "老板", "博士", "教练", "队长", "组长", "店长", "主管", "秘书")
# Titles after which a surname alone is a person (王先生, 李经理), unlike 信会计师 or 科长.
HONORIFICS = frozenset(("先生", "女士", "小姐", "经理", "总经理", "老师", "医生", "大夫", "主任", "律师", "师傅", "阿姨",
                        "警官", "老板", "教授"))
# Words that often come right before a name and so make a clean left edge for it.
LEFT_EDGES = ("和", "与", "跟", "给", "找", "请", "是", "叫", "向", "由", "及", "对", "让", "帮", "问", "把", "被",
              "感谢", "谢谢", "联系", "转告", "通知", "告诉", "麻烦", "客户", "用户", "同事", "@", "、", "的", "昨天",
              "今天", "明天", "刚才", "刚刚")
# Words that often follow a name (the right edge of the structural rule).
RIGHT_EDGES = ("说", "打", "来电", "致电", "的", "反映", "表示", "确认", "投诉", "签收", "报名", "提交",
               "申请", "发来", "回复", "留言", "告诉", "都", "和", "也", "已", "今天", "昨天", "刚才", "明天",
               "想", "要", "需要", "同意", "负责", "在")
SEPARATORS = " ：:\t"
MEASURE_BEFORE = frozenset("这那哪每各该此一两几某")
WEAK_CUES = ("联系", "找", "致", "转告", "客户", "用户", "同事", "本人", "业主", "乘客", "学员", "家长")
# What follows a name in a CV, a form or a letter so surely that any given-name characters are accepted.
STRONG_RIGHT = ("，男", "，女", ",男", ",女", "（男", "（女", "(男", "(女", "：男", "：女", ":男", ":女", "，汉族",
                "，中国国籍", "先生", "女士", "同志")
PREFIX_RE = re.compile("|".join(sorted(PREFIX_CUES, key=len, reverse=True)))
TITLE_RE = re.compile("|".join(sorted(TITLE_CUES, key=len, reverse=True)))
# jieba tags these as names although they are words
NOT_NAMES = frozenset("高兴 马上 黄金 石油 白天 向东 江苏 安全 金融 文明 常见 平安 和平 周到 方便 华为 小米 海尔 "
                      "万达 明白 明天 高级 龙头 白金 金银 海洋 文化 温暖 康复 乐观 时间 成功 任务 于是 高达 杨柳 "
                      "黄河 长江 高峰 钱包 金卡 宁可 施工 程序 包装 林业 祝福 余额 管理 应该 向上".split())


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _surname_len(text: str, i: int) -> int:
    """Length of the surname starting at ``text[i]``: 2 (compound), 1, or 0 (none)."""
    if text[i:i + 2] in COMPOUND_SURNAMES:
        return 2
    return 1 if i < len(text) and text[i] in SINGLE_SURNAMES else 0


class ChineseNameFinder:
    """``spans(text)`` → sorted, non-overlapping ``(start, end)`` of Chinese person names."""

    def __init__(self, use_jieba: bool = True):
        self._posseg, self._word_freq = None, {}
        if use_jieba:
            try:
                import jieba
                import jieba.posseg
            except ImportError:  # optional: the cue rules work alone
                pass
            else:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                self._posseg, self._word_freq = jieba.posseg, jieba.dt.FREQ

    def _is_word(self, name: str) -> bool:
        """An ordinary word in jieba's dictionary (叶子, 高级, 公司), or a surname doubled (谢谢, 明明): without
        a strong cue, not a name."""
        return (len(name) == 2 and name[0] == name[1]) or self._word_freq.get(name, 0) >= 3 or name in NOT_NAMES

    def spans(self, text: str) -> list[tuple[int, int]]:
        found = [*self._after_cues(text), *self._before_titles(text), *self._between_edges(text),
                 *self._tagged(text)]
        names = {text[s:e] for s, e in found if e - s >= 2}
        for name in names:  # the same full name elsewhere in the text
            found.extend((m.start(), m.end()) for m in re.finditer(re.escape(name), text))
        taken: list[tuple[int, int]] = []
        for s, e in sorted(set(found), key=lambda span: (span[0], -span[1])):
            if not taken or s >= taken[-1][1]:
                taken.append((s, e))
        return taken

    def _after_cues(self, text: str):
        """Names right after a cue that introduces a person (我叫张伟, 联系人：王芳)."""
        for m in PREFIX_RE.finditer(text):
            i = m.end()
            while i < len(text) and text[i] in SEPARATORS:
                i += 1
            span = self._read_name(text, i, cue=m.group())
            if span:
                yield span

    def _read_name(self, text: str, i: int, cue: str) -> tuple[int, int] | None:
        surname = _surname_len(text, i) if i < len(text) else 0
        if not surname:
            return None
        j = i + surname
        title = TITLE_RE.match(text, j)
        if title:  # 客户王先生: the surname alone
            return (i, j)
        given = 0
        while given < 2 and j + given < len(text) and _is_han(text[j + given]) and text[j + given] not in STOP_CHARS:
            if given == 1 and text[j + 1] not in GIVEN_CHARS:
                break
            if TITLE_RE.match(text, j + given):
                break
            given += 1
        if not given:
            return None
        # Weak cues (联系, 找, 致 …) also precede ordinary words: ask for a common surname or a name-like given name.
        if cue in WEAK_CUES and (text[i] not in COMMON_SURNAMES or text[j] not in GIVEN_CHARS or
                                 self._is_word(text[i:j + given])):
            return None
        return (i, j + given)

    def _before_titles(self, text: str):
        """Names right before a title (张伟先生, 李经理): the longest reading with a clean left edge, else the
        longest whose given-name characters are common ones."""
        for m in TITLE_RE.finditer(text):
            s, honorific = m.start(), m.group() in HONORIFICS
            clean, plausible = None, None
            for length in (4, 3, 2, 1):
                start = s - length
                if start < 0 or not all(_is_han(c) for c in text[start:s]):
                    continue
                surname = _surname_len(text, start)
                if not surname or surname > length or (length == 4 and surname != 2):
                    continue
                given = text[start + surname:s]
                if any(c in STOP_CHARS for c in given) or (length > 1 and self._is_word(text[start:s])):
                    continue  # 高级工程师, 公司总经理
                edge = start == 0 or not _is_han(text[start - 1]) or text[:start].endswith(LEFT_EDGES + PREFIX_CUES)
                if not given:  # 王先生: the surname alone, after an honorific and at a clean edge only
                    if honorific and edge and text[start - 1:start] not in MEASURE_BEFORE:
                        clean = clean or (start, s)
                    continue
                common = all(c in GIVEN_CHARS for c in given)
                if edge and (common or (honorific and text[start] not in AMBIGUOUS_SURNAMES)):
                    clean = clean or (start, s)
                elif common and text[start] not in AMBIGUOUS_SURNAMES:
                    plausible = plausible or (start, s)
            if clean or plausible:
                yield clean or plausible

    def _between_edges(self, text: str):
        """A surname and one or two common given-name characters between a clean left edge (start, punctuation,
        和/给/感谢 …) and a word that follows names (说, 打电话, 的邮箱 …): 。王芳说, 给刘洋打电话."""
        for i, ch in enumerate(text):
            surname = _surname_len(text, i)
            if not surname or not (i == 0 or not _is_han(text[i - 1]) or text[:i].endswith(LEFT_EDGES)):
                continue
            j = i + surname
            for given in (2, 1):
                end = j + given
                if end > len(text) or not all(_is_han(c) and c not in STOP_CHARS for c in text[j:end]):
                    continue
                if text.startswith(STRONG_RIGHT, end):  # 常建良，男，1963年出生
                    yield (i, end)
                    break
                if self._is_word(text[i:end]) or not all(c in GIVEN_CHARS for c in text[j:end]) or \
                        text[i] in AMBIGUOUS_SURNAMES or text.startswith(ORG_AFTER, end):
                    continue
                if end == len(text) or not _is_han(text[end]) or text.startswith(RIGHT_EDGES, end):
                    yield (i, end)
                    break

    def _tagged(self, text: str):
        """jieba's person names (``nr``) whose given characters are common ones."""
        if self._posseg is None:
            return
        pos = 0
        for word, flag in self._posseg.cut(text):
            start, pos = pos, pos + len(word)
            if flag != "nr" or not 2 <= len(word) <= 4 or word in NOT_NAMES:
                continue
            if not _surname_len(word, 0) and start > 0 and _surname_len(text, start - 1) == 1 and len(word) == 2:
                word, start = text[start - 1:pos], start - 1  # 林志强 tagged as 林 + 志强
            surname = _surname_len(word, 0)
            given = word[surname:]
            if surname and 1 <= len(given) <= 2 and all(c in GIVEN_CHARS for c in given) and not self._is_word(word) \
                    and word[0] not in AMBIGUOUS_SURNAMES and not text.startswith(ORG_AFTER, start + len(word)):
                yield (start, start + len(word))
