"""The leaderboard's "Table 5" preset: rows grouped and ordered as in the paper, numbers equal to
the leaderboard's, declared supervision from the runs' stored trunk declarations and fits,
random-trunk notes, "not available" rows, the paper's numbers only for imported BAPPS folders,
and the page / JSON / bad parameters / access."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from analysis import leaderboard
from analysis.leaderboard.presets import board_table5
from analysis.models import Dataset, FitRun, RunStatus
from metrics.supervision import trunk_declaration
from metrics.table5 import ROWS, lines
from tests.analysis.boards import make_dataset, score

pytestmark = pytest.mark.django_db

JUDGES = {"traditional": [0.0, 0.2, 0.8, 1.0, 0.4, 0.6], "cnn": [0.0, 1.0, 0.2, 0.8]}
KMEANS = {
    "weights": "kmeans-alex.pth", "supervision": "unsupervised", "method": "kmeans",
    "label": "K-means (ours)", "declared_by": "sidecar",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _d(scale):
    def distances(category, item):
        good = (0.1, 0.9) if item.judge < 0.5 else (0.9, 0.1)
        return good if (item.index * scale) % 3 else good[::-1]

    return distances


def _run(dataset, metric, scale, *, options=None, trunk=None):
    run = score(dataset, metric, _d(scale), options=options, n_resamples=50)
    if trunk is not None:
        run.computed_with = {"metric": metric, "trunk": trunk}
        run.save(update_fields=["computed_with"])
    return run


@pytest.fixture
def dataset(alice):
    dataset = make_dataset(alice, judges=JUDGES)
    _run(dataset, "l2-lab", 1)
    _run(dataset, "ssim", 2, options={"preset": "lpips-baseline"})
    _run(dataset, "psnr", 4)
    # The demo's LPIPS: shipped lin weights over a seeded random trunk.
    _run(dataset, "lpips-alex", 5, options={"trunk_weights": None}, trunk=trunk_declaration(None))
    # A k-means trunk whose sidecar the worker read.
    _run(
        dataset, "lpips-alex", 7,
        options={"variant": "baseline", "trunk_weights": "kmeans-alex.pth"}, trunk=KMEANS,
    )  # fmt: skip
    # A checkpoint nobody declared.
    _run(
        dataset, "lpips-alex", 8,
        options={"variant": "baseline", "trunk_weights": "mystery.pth"},
        trunk={"weights": "mystery.pth", "supervision": "undeclared", "method": None},
    )  # fmt: skip
    fit = FitRun.objects.create(
        dataset=dataset, net="vgg", variant="tune", status=RunStatus.DONE, trunk_weights=""
    )
    _run(dataset, f"fitted:{fit.pk}", 10)
    return dataset


def _view(dataset):
    board = leaderboard.board_data(dataset=dataset)
    return board, board_table5(dataset=dataset, board=board)


def test_rows_are_grouped_and_ordered_as_in_the_paper(dataset):
    _, view = _view(dataset)
    assert [g["key"] for g in view["groups"]] == [
        "oracle", "low-level", "random", "unsupervised", "self-supervised", "supervised",
        "lpips", "undeclared",
    ]  # fmt: skip
    keyed = [ln["row"] for ln in lines(view) if ln["row"]]
    assert keyed == [r.key for r in ROWS]  # every paper row once, in order, none dropped
    by_row = {ln["row"]: ln for ln in lines(view) if ln["row"]}
    assert by_row["kmeans"]["status"] == "computed" and by_row["kmeans"]["label"].startswith("K-")
    assert by_row["vgg-tune"]["status"] == "computed"
    assert by_row["bigan"]["status"] == "not available"
    assert "PERCEPTLAB_WEIGHTS_DIR" in by_row["bigan"]["obtain"]
    assert by_row["hdr-vdp"]["status"] == "not available" and "vdp" in by_row["hdr-vdp"]["obtain"]
    low = next(g for g in view["groups"] if g["key"] == "low-level")["lines"]
    assert [ln["row"] for ln in low] == ["l2", "ssim", "fsimc", "hdr-vdp", None]  # psnr last
    undeclared = next(g for g in view["groups"] if g["key"] == "undeclared")["lines"]
    assert "mystery.pth.meta.json" in undeclared[0]["notes"][0]


def test_numbers_equal_the_leaderboards(dataset):
    board, view = _view(dataset)
    by_run = {row["run"]: row for row in board["rows"] if row["kind"] == "metric"}
    computed = [ln for ln in lines(view) if ln["status"] == "computed" and ln["source"].get("run")]
    assert len(computed) == len(by_run) == 7
    for ln in computed:
        cells = by_run[ln["source"]["run"]]["cells"]
        assert {c: v for c, v in ln["ours"].items() if v is not None} == {
            c: cell["score"] for c, cell in cells.items()
        }
    human = next(r for r in board["rows"] if r["kind"] == "human")["cells"]
    human_line = lines(view)[0]
    assert human_line["row"] == "human"
    assert {c: v for c, v in human_line["ours"].items() if v is not None} == {
        c: cell["score"] for c, cell in human.items()
    }


def test_a_row_computed_with_a_random_trunk_says_so(dataset):
    _, view = _view(dataset)
    alex_lin = [ln for ln in lines(view) if ln["row"] == "alex-lin"]
    assert len(alex_lin) == 1 and alex_lin[0]["status"] == "computed"
    assert any("random trunk" in note for note in alex_lin[0]["notes"])


def test_paper_numbers_only_for_an_imported_bapps_folder(dataset, alice):
    _, view = _view(dataset)
    assert view["with_paper"]
    assert next(ln for ln in lines(view) if ln["row"] == "alex-lin")["paper"]["all"] == 69.8
    Dataset.objects.filter(pk=dataset.pk).update(source=Dataset.Source.STUDY)
    dataset.refresh_from_db()
    _, view = _view(dataset)
    assert not view["with_paper"] and "not BAPPS" in view["paper_reason"]
    assert all(ln["paper"] is None for ln in lines(view))
    other = make_dataset(alice, judges={"my_category": [0.0, 1.0]}, name="other sets")
    _run(other, "l2-lab", 1)
    _, view = _view(other)
    assert not view["with_paper"]


def test_the_page_offers_the_preset_and_renders_it(client, alice, dataset):
    client.force_login(alice)
    page = client.get(f"/leaderboards/{dataset.pk}/")
    assert page.status_code == 200 and b"?preset=table5" in page.content
    response = client.get(f"/leaderboards/{dataset.pk}/?preset=table5")
    assert response.status_code == 200
    html = response.content.decode()
    titles = ["Oracle", "Low-level", "Net (Random)", "Net (Unsup.)", "Net (Self-sup.)",
              "Net (Supervised)", "LPIPS"]  # fmt: skip
    positions = [html.index(f'data-group="{t}"') for t in titles]
    assert positions == sorted(positions)
    assert "not available" in html and "random trunk" in html
    # Inside the admin, like the leaderboard: its header, and a way back to the board.
    assert 'id="site-name"' in html and 'class="breadcrumbs"' in html
    assert f'href="/leaderboards/{dataset.pk}/?split=val">Leaderboard</a>' in html
    data = client.get(f"/leaderboards/{dataset.pk}/?preset=table5&format=json").json()
    assert [ln["row"] for ln in lines(data) if ln["row"]] == [r.key for r in ROWS]


@pytest.mark.parametrize(
    ("query", "code"),
    [("preset=table6", "unknown_preset"), ("preset=table5&format=csv", "unknown_format")],
)
def test_bad_preset_parameters_are_400s(client, alice, dataset, query, code):
    client.force_login(alice)
    response = client.get(f"/leaderboards/{dataset.pk}/?{query}")
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_another_researcher_gets_a_404(client, charlie, dataset):
    client.force_login(charlie)
    assert client.get(f"/leaderboards/{dataset.pk}/?preset=table5").status_code == 404


def test_the_public_board_offers_the_preset(client, dataset):
    Dataset.objects.filter(pk=dataset.pk).update(is_public=True)
    dataset.refresh_from_db()
    response = client.get(f"/leaderboards/public/{dataset.public_slug}/?preset=table5")
    assert response.status_code == 200 and b"Net (Unsup.)" in response.content
    assert b'id="site-name"' not in response.content  # the public page has no admin around it
