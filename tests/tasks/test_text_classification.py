"""The text-classification task: registry lookup by manifest (old artifacts included), outputs, loss."""

import numpy as np
import pytest
import torch

from lmforge.errors import ArtifactError
from lmforge.tasks import get_task, task_for_artifact, task_name_of
from lmforge.tasks.text_classification import Prediction


def test_manifest_without_a_task_is_text_classification(tmp_path):
    assert task_name_of({}) == task_name_of({"kind": "text-classification"}) == "text-classification"
    assert task_name_of({"task": "text-classification", "kind": "x"}) == "text-classification"
    assert task_for_artifact(tmp_path).name == "text-classification"  # no manifest at all
    (tmp_path / "manifest.json").write_text('{"task": "protein-folding"}')
    with pytest.raises(ArtifactError, match="unknown task 'protein-folding'"):
        task_for_artifact(tmp_path)


def test_postprocess_picks_the_most_probable_label():
    task = get_task("text-classification")
    predictions = task.postprocess(np.array([[0.0, 2.0], [1.0, -1.0]], dtype=np.float32), ["neg", "pos"])
    assert [p.label for p in predictions] == ["pos", "neg"]
    assert isinstance(predictions[0], Prediction)
    assert predictions[0].score == pytest.approx(1 / (1 + np.exp(-2.0)), rel=1e-6)
    assert sum(predictions[1].scores.values()) == pytest.approx(1.0)
    assert task.results(np.array([[0.0, 2.0]]), ["neg", "pos"])[0]["label"] == "pos"


def test_dev_scores_and_score_agree():
    task = get_task("text-classification")
    logits = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]], dtype=np.float32)
    gold = np.array([0, 1, 1])
    scores = task.dev_scores(logits, gold, ["a", "b"])
    assert scores["accuracy"] == pytest.approx(2 / 3) == task.score(logits, gold)
    assert task.agreement(logits, logits) == 1.0


def test_collate_pads_and_carries_labels():
    task = get_task("text-classification")
    batch = task.collate([[1, 2, 3], [4]], torch.tensor([0, 1]), [0, 1], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]] and batch["labels"].tolist() == [0, 1]
