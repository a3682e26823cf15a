"""Dataset exports (Celery queue `default`): the BAPPS layout as .tar.gz, a long table with one
row per judgment (CSV, or Parquet when pyarrow is installed) and a Markdown datasheet.

Each export is written to a temporary file on the worker, streaming item by item or row by row
(never the whole thing in memory), then saved through Django's storage API as `Export.file`
with its sha256 and size. `export_create` validates and enqueues; nothing is written when it
refuses. `export_retry` re-queues a failed export. Column lists and rules: `docs/analysis.md`.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.util
import json
import os
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from django.core.files import File
from django.db import transaction

from common import jobs
from common.exceptions import ApplicationError, ConflictError
from common.scratch import scratch_dir
from common.tasks import requeue_failed

from . import datasets
from .models import Dataset, DatasetJudgment, Export

KINDS = tuple(Export.Kind.values)
EXTENSIONS = {"bapps": "tar.gz", "csv": "csv", "parquet": "parquet", "datasheet": "md"}
CONTENT_TYPES = {
    "bapps": "application/gzip",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "datasheet": "text/markdown",
}
PARQUET_BATCH = 10_000

# The long table (pwcmp's shape first: observer, session, scene, condition_A, condition_B,
# is_A_selected), then the trial, the raw answer, display info and QC flags as columns.
LONG_COLUMNS = (
    "observer",
    "session",
    "scene",
    "condition_A",
    "condition_B",
    "is_A_selected",
    "response_id",
    "trial",
    "trial_index",
    "kind",
    "split",
    "category",
    "dataset_item",
    "ref_stimulus",
    "p0_stimulus",
    "p1_stimulus",
    "choice",
    "side",
    "swapped",
    "position",
    "rt_ms",
    "received_at",
    "recruiter",
    "display_dpr",
    "display_window_w",
    "display_window_h",
    "display_scale",
    "display_css_px",
    "display_device_px",
    "display_exact",
    "display",
    "is_sentinel",
    "sentinel_correct",
    "is_repeat",
    "counts",
    "participant_status",
    "qc_reasons",
    "valid",
)


def parquet_available() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


# ---------------------------------------------------------------------------------------------
# Creating and running
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def export_create(*, dataset: Dataset, kind: str) -> Export:
    """Validate, create a queued Export and enqueue `analysis.tasks.export_dataset` on commit.

    Raises ApplicationError (nothing written) for an unknown kind, a dataset that is not ready,
    a long table of an imported dataset (it has no individual judgments), or Parquet without
    pyarrow on the server.
    """
    if kind not in KINDS:
        raise ApplicationError(
            f"Unknown export kind {kind!r}; use one of {', '.join(KINDS)}.",
            code="unknown_kind",
            fields={"kind": ["unknown"]},
        )
    if dataset.status != Dataset.Status.READY:
        raise ConflictError(
            f"Dataset {dataset} is {dataset.status}, not ready: it cannot be exported yet.",
            code="not_ready",
        )
    if kind in ("csv", "parquet") and dataset.source != Dataset.Source.STUDY:
        raise ApplicationError(
            "This dataset was imported from a BAPPS folder: it has judge fractions but no "
            "individual judgments, so there is no long table to export.",
            code="no_judgments",
            fields={"kind": ["unavailable for imported datasets"]},
        )
    if kind == "parquet" and not parquet_available():
        raise ApplicationError(
            "Parquet export is unavailable on this server (pyarrow is not installed); "
            "use the CSV long table, which has the same columns.",
            code="parquet_unavailable",
            fields={"kind": ["unavailable"]},
        )
    export = Export.objects.create(dataset=dataset, kind=kind)
    _enqueue_export(export)
    return export


def _enqueue_export(export: Export) -> None:
    jobs.enqueue(
        "analysis.tasks.export_dataset",
        export.pk,
        target=(Export, export.pk),
        failed={"status": Export.Status.FAILED},
    )


@transaction.atomic
def export_retry(*, export: Export) -> Export:
    """Queue a failed export again (ConflictError unless it failed)."""
    return requeue_failed(
        export,
        label=lambda e: f"Export {e.pk}",
        kind="export",
        failed=Export.Status.FAILED,
        queued=Export.Status.QUEUED,
        enqueue=_enqueue_export,
    )


def export_run(*, export: Export) -> Export:
    """Write the export to a temporary file, then store it with sha256 and size (status ready),
    worker side. A failure raises; the task marks the export failed with the error
    (`recording_failure`), and no file is stored."""
    writers = {
        "bapps": write_bapps_tar,
        "csv": write_csv,
        "parquet": write_parquet,
        "datasheet": write_datasheet,
    }
    Export.objects.filter(pk=export.pk).update(status=Export.Status.RUNNING, error="")
    dataset = export.dataset
    with scratch_dir(prefix=f"export-{export.pk}-") as tmp:
        path = Path(tmp) / f"out.{EXTENSIONS[export.kind]}"
        writers[export.kind](dataset, path)
        digest, size = _sha256(path)
        with path.open("rb") as handle:
            export.file.save(export_filename(export), File(handle), save=False)
    export.sha256, export.size, export.status, export.error = digest, size, Export.Status.READY, ""
    export.save(update_fields=["file", "sha256", "size", "status", "error", "updated_at"])
    return export


def export_filename(export: Export) -> str:
    dataset = export.dataset
    return f"dataset-{dataset.pk}-v{dataset.version}-{export.kind}.{EXTENSIONS[export.kind]}"


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest(), path.stat().st_size


# ---------------------------------------------------------------------------------------------
# BAPPS layout
# ---------------------------------------------------------------------------------------------


def _bapps_items(items, kind: str) -> Iterator[tuple]:
    for item in items:
        if kind == "2afc":
            yield (
                datasets.read_png(item.ref),
                datasets.read_png(item.p0),
                datasets.read_png(item.p1),
                item.judge,
            )
        else:
            yield datasets.read_png(item.p0), datasets.read_png(item.p1), item.judge


def write_bapps_folder(dataset: Dataset, root: Path) -> None:
    """`<root>/2afc/<split>/<category>/{ref,p0,p1,judge}` and `<root>/jnd/<split>/<category>/
    {p0,p1,same}` via `metrics.bapps` (items in dataset order, one at a time), plus README.md
    (the datasheet) and index.csv (export position → dataset item, trial, judgments)."""
    from metrics.bapps import write_2afc, write_jnd

    root.mkdir(parents=True, exist_ok=True)
    with (root / "index.csv").open("w", newline="", encoding="utf-8") as index:
        writer = csv.writer(index, lineterminator="\n")
        writer.writerow(
            ["kind", "split", "category", "name", "dataset_item", "trial", "judge", "n_judgments"]
        )
        for kind in ("2afc", "jnd"):
            write = write_2afc if kind == "2afc" else write_jnd
            for (split, category), items in datasets.groups(dataset, kind=kind).items():
                write(root, split, category, _bapps_items(items, kind))
                for n, item in enumerate(items):
                    writer.writerow(
                        [
                            kind,
                            split,
                            category,
                            f"{n:06d}",
                            item.pk,
                            item.trial_id or "",
                            repr(item.judge),
                            item.n_judgments,
                        ]
                    )
    (root / "README.md").write_text(datasheet_markdown(dataset), encoding="utf-8")


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Same dataset, same bytes: no timestamps, owners or permissions from the worker.
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    info.mode = 0o755 if info.isdir() else 0o644
    return info


def write_bapps_tar(dataset: Dataset, path: Path) -> None:
    """A deterministic .tar.gz of the BAPPS folder, named after the dataset (one top folder)."""
    top = datasets.export_folder_name(dataset)
    with scratch_dir(prefix="bapps-") as tmp:
        folder = Path(tmp) / top
        write_bapps_folder(dataset, folder)
        with (
            path.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for current, dirs, files in os.walk(folder):
                dirs.sort()
                here = Path(current)
                tar.add(
                    here, arcname=str(here.relative_to(tmp)), recursive=False, filter=_normalised
                )
                for name in sorted(files):
                    tar.add(
                        here / name, arcname=str((here / name).relative_to(tmp)), filter=_normalised
                    )


# ---------------------------------------------------------------------------------------------
# Long table
# ---------------------------------------------------------------------------------------------


def long_table_rows(dataset: Dataset) -> Iterator[dict]:
    """One dict per judgment (valid and invalid) in the snapshot the dataset was frozen from
    (`DatasetJudgment`), in storage order; `valid` is the freeze's decision, so the valid rows are
    exactly the judgments the dataset counts, whatever happened to the study since."""
    if dataset.study_id is None:
        return
    items = dict(dataset.items.filter(trial__isnull=False).values_list("trial_id", "pk"))
    judgments = (
        DatasetJudgment.objects.filter(dataset=dataset)
        .select_related("response__participant", "response__item", "response__trial")
        .order_by("response_id")
    )
    for judgment in judgments.iterator(chunk_size=2000):
        r = judgment.response
        trial, item, person = r.trial, r.item, r.participant
        display = r.display if isinstance(r.display, dict) else {}
        window = display.get("window")
        width, height = (
            window[:2] if isinstance(window, list) and len(window) >= 2 else (None, None)
        )
        is_2afc = trial.kind == "2afc"
        yield {
            "observer": str(person.pseudonym),
            "session": r.assignment_id,
            "scene": trial.ref_id if is_2afc else trial.p0_id,
            "condition_A": trial.p0_id,
            "condition_B": trial.p1_id,
            "is_A_selected": (r.choice == "p0") if is_2afc else None,
            "response_id": r.pk,
            "trial": trial.pk,
            "trial_index": trial.index,
            "kind": trial.kind,
            "split": trial.split,
            "category": trial.category,
            "dataset_item": items.get(trial.pk),
            "ref_stimulus": trial.ref_id,
            "p0_stimulus": trial.p0_id,
            "p1_stimulus": trial.p1_id,
            "choice": r.choice,
            "side": r.side,
            "swapped": item.swapped,
            "position": item.position,
            "rt_ms": r.rt_ms,
            "received_at": r.received_at.isoformat(),
            "recruiter": person.recruiter,
            "display_dpr": display.get("dpr"),
            "display_window_w": width,
            "display_window_h": height,
            "display_scale": display.get("scale"),
            "display_css_px": display.get("css_px"),
            "display_device_px": display.get("device_px"),
            "display_exact": display.get("exact"),
            "display": json.dumps(display, sort_keys=True),
            "is_sentinel": trial.is_sentinel,
            "sentinel_correct": (r.choice == trial.expected)
            if trial.is_sentinel and trial.expected
            else None,
            "is_repeat": item.is_repeat,
            "counts": item.counts,
            "participant_status": person.status,
            "qc_reasons": ";".join(str(x) for x in person.qc_reasons or []),
            "valid": judgment.valid,
        }


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(dataset: Dataset, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(LONG_COLUMNS)
        for row in long_table_rows(dataset):
            writer.writerow([_csv_value(row[c]) for c in LONG_COLUMNS])


def _arrow_schema():
    import pyarrow as pa

    ints = {
        "session",
        "scene",
        "condition_A",
        "condition_B",
        "response_id",
        "trial",
        "trial_index",
        "dataset_item",
        "ref_stimulus",
        "p0_stimulus",
        "p1_stimulus",
        "position",
        "rt_ms",
        "display_window_w",
        "display_window_h",
        "display_scale",
        "display_css_px",
        "display_device_px",
    }
    bools = {
        "is_A_selected",
        "swapped",
        "display_exact",
        "is_sentinel",
        "sentinel_correct",
        "is_repeat",
        "counts",
        "valid",
    }
    floats = {"display_dpr"}

    def kind(c):
        return (
            pa.int64()
            if c in ints
            else pa.bool_()
            if c in bools
            else pa.float64()
            if c in floats
            else pa.string()
        )

    return pa.schema([(c, kind(c)) for c in LONG_COLUMNS])


def write_parquet(dataset: Dataset, path: Path) -> None:
    """The long table as Parquet, written in row groups of PARQUET_BATCH rows (pyarrow needed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _arrow_schema()
    with pq.ParquetWriter(str(path), schema) as writer:
        batch: list[dict] = []
        for row in long_table_rows(dataset):
            batch.append(row)
            if len(batch) >= PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))


# ---------------------------------------------------------------------------------------------
# Datasheet
# ---------------------------------------------------------------------------------------------


def write_datasheet(dataset: Dataset, path: Path) -> None:
    path.write_text(datasheet_markdown(dataset), encoding="utf-8")


def _counts_table(dataset: Dataset) -> list[str]:
    lines = ["| kind | split | category | items | judgments |", "|---|---|---|---|---|"]
    rows = Counter()
    judgments = Counter()
    for kind, split, category, n in dataset.items.values_list(
        "kind", "split", "category", "n_judgments"
    ):
        rows[(kind, split, category)] += 1
        judgments[(kind, split, category)] += n
    for key in sorted(rows):
        lines.append(
            f"| {' | '.join(key)} | {rows[key]} | {judgments[key] if dataset.study_id else 'n/a'} |"
        )
    return lines


def _study_sections(dataset: Dataset) -> list[str]:
    from crowd.models import Participant
    from studies.models import ReferenceImage

    study = dataset.study
    people = Participant.objects.filter(study=study)
    statuses = Counter(people.values_list("status", flat=True))
    recruiters = Counter(people.values_list("recruiter", flat=True))
    reasons = Counter(r for rs in people.values_list("qc_reasons", flat=True) for r in (rs or []))
    frozen = dataset.judgments.count()
    specs = list(
        study.distortion_specs.order_by("category", "name").values_list(
            "category", "name", "family"
        )
    )
    lines = [
        "## Collection",
        "",
        f"- Study: {study.name} (`{study.slug}`, id {study.pk}), kind {study.kind}, seed {study.seed}.",
        f"- Frozen: {dataset.created_at:%Y-%m-%d %H:%M} UTC as version {dataset.version}.",
        f"- Patches: {study.patch_size} px, shown at integer scale {study.display_scale} (nearest neighbour).",
        f"- Judgments per triplet: train {study.judgments_train}, val {study.judgments_val}; per JND pair "
        f"{study.judgments_jnd}. JND timing: {study.jnd_first_ms} ms / gap {study.jnd_gap_ms} ms / "
        f"{study.jnd_second_ms} ms.",
        f"- Assignments of {study.assignment_size} trials with sentinel rate {study.sentinel_rate:.2f} and one "
        f"hidden repeat; sides counterbalanced.",
        f"- Participants: {people.count()} ("
        + ", ".join(f"{k}: {v}" for k, v in sorted(recruiters.items()))
        + ").",
        f"- Judgments stored at the freeze: {frozen} (all kinds, sentinels included).",
        "",
        "Distortions:",
        "",
    ]
    lines += [f"- {category}: {name} ({family or 'n/a'})" for category, name, family in specs] or [
        "- none recorded"
    ]
    qc = dataset.manifest.get("qc", {})
    lines += [
        "",
        "## Quality control",
        "",
        f"- Sentinel accuracy at least {study.qc_min_sentinel_accuracy:.2f}; answers faster than "
        f"{study.qc_rt_floor_ms} ms count as too fast (at most {study.qc_max_fast_share:.0%}); side bias at most "
        f"{study.qc_max_side_bias:.0%}.",
        "- Excluded participants' judgments, sentinels, practice trials and hidden repeats do not count.",
        f"- At freeze: {qc.get('excluded_participants', 'n/a')} of {qc.get('participants', 'n/a')} participants "
        f"excluded; {qc.get('judgments', 'n/a')} valid judgments.",
        "- Now: "
        + (", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())) or "no participants")
        + ".",
    ]
    if reasons:
        lines.append(
            "- QC reasons: " + ", ".join(f"{k} ({v})" for k, v in reasons.most_common()) + "."
        )
    images = (
        ReferenceImage.objects.filter(image_set=study.image_set)
        if study.image_set_id
        else ReferenceImage.objects.none()
    )
    licences = Counter(
        (i.licence or "not recorded", i.source or "not recorded")
        for i in images.only("licence", "source")
    )
    lines += ["", "## Licences", "", "Reference images (licence — source — images):", ""]
    lines += [f"- {lic} — {src} — {n}" for (lic, src), n in sorted(licences.items())] or [
        "- no reference images recorded (stimuli were supplied directly)"
    ]
    return lines


def datasheet_markdown(dataset: Dataset) -> str:
    """A datasheet: what was collected and how, QC, counts and licences (numbers computed)."""
    lines = [
        f"# Datasheet: {dataset.name} v{dataset.version}",
        "",
        f"PerceptLab dataset {dataset.pk}, {dataset.get_source_display()}, status {dataset.status}.",
        "",
    ]
    if dataset.study_id:
        lines += _study_sections(dataset)
    else:
        lines += [
            "## Collection",
            "",
            "- Imported from a BAPPS-layout "
            + (
                f"folder (`{dataset.import_path}`)"
                if dataset.import_path
                else f"archive (`{dataset.manifest.get('archive', 'uploaded')}`)"
            )
            + f" on "
            f"{dataset.created_at:%Y-%m-%d}. Individual judgments, participants and QC are not part of "
            "that layout: only per-item fractions (judge / same).",
            "",
            "## Licences",
            "",
            "- The images and judgments keep the licence of the source dataset; check it before "
            "redistributing this export.",
        ]
    code = dataset.manifest.get("code_version", {})
    lines += ["", "## Counts", "", *_counts_table(dataset)]
    lines += [
        "",
        "## Format",
        "",
        "- BAPPS layout: `2afc/<split>/<category>/{ref,p0,p1,judge}` and `jnd/<split>/<category>/"
        '{p0,p1,same}`; `judge` = share of judgments preferring p1, `same` = share answering "same".',
        f"- Files listed in the manifest: {len(dataset.manifest.get('files', {}))} (sha256 each).",
        "- Code: "
        + (", ".join(f"{k} {v}" for k, v in sorted(code.items())) or "not recorded")
        + ".",
    ]
    return "\n".join(lines) + "\n"
