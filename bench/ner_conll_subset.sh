#!/usr/bin/env bash
# Token classification on real data with the bundled MiniLM, default settings: CoNLL-2003 English, a subset
# (the first N training sentences, the first 500 validation sentences as dev), scored on the full test set.
# Usage: bench/ner_conll_subset.sh [N=2000]   (writes bench/out/ner/; prints the metrics)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
DATA=${LMFORGE_SHARED_DATA:-../shared/data}/conll2003
OUT=bench/out/ner
mkdir -p "$OUT"
take() {  # the first $2 sentences of CoNLL file $1 (a blank line ends a sentence; -DOCSTART- lines dropped)
  awk -v n="$2" 'BEGIN{RS=""; ORS="\n\n"} !/^-DOCSTART-/ {if (k++ < n) print}' "$1"
}
take "$DATA/train.txt" "$N" > "$OUT/train.txt"
take "$DATA/valid.txt" 500 > "$OUT/dev.txt"
PY=${PY:-python}
time $PY -m lmforge finetune "$OUT/train.txt" --dev "$OUT/dev.txt" --task token-classification \
  -o "$OUT/model" --overwrite --quiet
time $PY -m lmforge evaluate "$OUT/model" "$DATA/test.txt" -o "$OUT/eval-test"
$PY -c "import json; m=json.load(open('$OUT/eval-test/metrics.json')); print({k: m[k] for k in ('f1','precision','recall','conlleval_f1','token_accuracy','examples','scheme')})"
