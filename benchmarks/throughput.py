"""Throughput and peak memory of ``clean`` on a large dirty text stream, next to
a Python read-hash-write loop (the floor) and ``awk '!seen[$0]++'``.

    python benchmarks/throughput.py            # 120 MB stream, best of 3 runs
    python benchmarks/throughput.py --quick    # 10 MB stream, for a smoke test

The stream is generated deterministically (fixed seed, no network) into
``benchmarks/_data/`` and reused while its parameters are unchanged. Each tool
runs as a subprocess reading the stream on stdin and writing to a file in
``benchmarks/_out/``, pinned to one CPU with ``taskset`` when available; the
table reports the best wall time of ``--repeat`` runs and the largest peak RSS
(``ru_maxrss`` of the child, from ``os.wait4``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA_DIR = HERE / "_data"
OUT_DIR = HERE / "_out"
SAMPLES_DIR = ROOT / "corpus_samples"

DEFAULT_SEED = 20261123
DEFAULT_MB = 120
QUICK_MB = 10
# Bump when the generator changes, so cached streams are rebuilt.
GENERATOR_VERSION = 6
MB = 1_000_000  # MB/s here means 10^6 bytes per second
FORM_FEED_LINE = "\f\n"

# ---------------------------------------------------------------------------
# Vocabulary of the English-like generator
# ---------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty Mark Sandra Steven "
    "Ashley Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Gwladys Antony Kurt Duyeon Dmitry Andrey Wang Kim Tae-yul Yong-hyun Priya Rahul Aisha Omar Ana"
)
ACCENTED_FIRST_NAMES = _words(
    "José María François Zoë Søren Björn Łukasz Renée Inés Chloé Jürgen Ángel Mónica Héctor "
    "Raúl Sébastien Noémie Agnès Dagný Þóra Małgorzata Tomás Nuño Dóra"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore Jackson Martin Lee Thompson "
    "White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Green Baker Adams Nelson Hill "
    "Campbell Mitchell Roberts Carter Phillips Evans Turner Torres Parker Collins Edwards Stewart Morris "
    "Fouche Sfraga Blinken Peskov Rudenko Heritage Nakamura Okafor Haddad Ivanova Kowalski Novak"
)
ACCENTED_LAST_NAMES = _words(
    "García Martínez Hernández López González Pérez Sánchez Ramírez Müller Schäfer Jönsson Åberg Dvořák "
    "Wałęsa Østergaard Lefèvre Béranger Çelik Yılmaz Gómez Núñez Ibáñez O’Brien D’Amico"
)
ACCENTED_SHARE = 0.06  # of names and places drawn from the accented lists

PLACES = _words(
    "Washington Beijing Moscow London Paris Berlin Tokyo Seoul Oslo Brussels Kyiv Warsaw Ottawa Canberra "
    "Nairobi Lagos Cairo Delhi Mumbai Jakarta Manila Hanoi Bangkok Taipei Geneva Vienna Madrid Lisbon Rome "
    "Athens Ankara Tehran Riyadh Doha Dubai Alaska Texas Ohio Quebec Bavaria Catalonia Scotland Wales"
)
ACCENTED_PLACES = _words("Montréal Zürich São_Paulo Bogotá Malmö Kraków Reykjavík Düsseldorf Córdoba Genève Tromsø")
ACCENTED_PLACES = tuple(p.replace("_", " ") for p in ACCENTED_PLACES)

ORGS = _phrases(
    "the Pentagon|the Kremlin|the State Department|the European Commission|the United Nations|NATO|"
    "the central bank|the finance ministry|the Supreme Court|parliament|the World Bank|the IMF|"
    "the health ministry|the election commission|the coast guard|the Federal Reserve|the city council|"
    "the opposition party|the ruling coalition|the trade union|the foreign ministry|Reuters|the Bundestag|"
    "the Assemblée nationale|Société Générale|Nestlé|Škoda|the Riksdag"
)

NOUNS = _words(
    "government official report plan deal agreement talks economy market price rate inflation budget "
    "election vote campaign policy law bill court ruling decision investigation inquiry statement "
    "company firm industry sector bank investor share stock growth output demand supply energy oil gas "
    "pipeline climate emission target summit meeting leader minister president spokesman spokeswoman "
    "ambassador envoy diplomat region border conflict war ceasefire troop soldier attack strike missile "
    "drone ship route port trade tariff export import sanction ally partner country nation city village "
    "resident family worker student teacher doctor hospital school university study survey data figure "
    "analyst expert researcher scientist project program system network service network platform product "
    "customer user app technology chip factory plant project infrastructure road bridge railway airport "
    "water food harvest farmer drought flood storm fire season year month week quarter decade century "
    "crisis risk threat concern pressure support opposition protest rally crowd police officer suspect "
    "charge trial verdict sentence prison reform tax debt deficit loan fund grant contract tender license"
)

ADJECTIVES = _words(
    "new major key senior former local national regional global international public private federal "
    "economic political military strategic financial social legal environmental digital nuclear "
    "significant recent growing rising falling sharp strong weak modest cautious broad narrow early late "
    "annual quarterly monthly first second third last final previous next long short high low "
    "unexpected unprecedented controversial complex difficult important critical urgent ongoing "
    "bilateral multilateral joint regular routine normal high-level dual-use resource-rich"
)

VERBS_PAST = _words(
    "said announced reported warned confirmed denied approved rejected launched signed agreed proposed "
    "introduced released published criticized welcomed urged raised cut increased reduced delayed "
    "postponed extended expanded suspended resumed accepted blocked backed opposed questioned reviewed "
    "discussed described noted added acknowledged estimated expected forecast planned sought "
    "unveiled completed finished started opened closed monitored tracked stopped received sent"
)

ADVERBS = _words(
    "also still already recently previously currently largely partly nearly roughly broadly sharply "
    "quickly slowly publicly privately officially formally initially eventually finally again later"
)

PREPOSITIONS = _words("in on at for with from about over under after before during against across between amid")
CONJUNCTIONS = _words("and but while although because as since after whereas")
TIME_WORDS = _phrases(
    "on Monday|on Tuesday|on Wednesday|on Thursday|on Friday|on Saturday|on Sunday|last week|this week|"
    "last month|earlier this year|in July|in October|in recent years|late on Thursday|on Friday morning"
)

SECTIONS = _phrases("World|Business|Politics|Sports|Technology|Science|Health|Entertainment|Opinion|Asia|Europe|US")
PUBLISHERS = _phrases(
    "South China Morning Post|NY Post|The Hill|Reuters|Associated Press|Bloomberg|AFP|The Guardian|Yahoo News|"
    "Get Spanish Football News|Business Insider|The Independent|CNN|Fox News|Al Jazeera|Politico|"
    "Le Monde|Der Spiegel|El País|Deutsche Welle|The Telegraph|Newsweek|Sky News|Radio Canada International"
)
AGENCIES = _phrases("Getty Images|AFP|Reuters|AP Photo|EPA-EFE|Sputnik/AFP/Getty Images|Bloomberg|Shutterstock")
KICKERS = _phrases(
    "COLD WAR 2.0|BREAKING|EXCLUSIVE|ANALYSIS|MARKETS|ELECTION 2024|WORLD NEWS|CLIMATE CRISIS|UKRAINE WAR|"
    "TECH|OPINION|LIVE UPDATES|THE BIG PICTURE|ASIA|EUROPE|ENERGY|TRADE WAR|HEALTH|BUSINESS|EXPLAINER"
)
TIMEZONES = _words("MDT EDT PDT CDT UTC GMT CET BST HKT JST")
DOWS = _words("Mon Tue Wed Thu Fri Sat Sun")
MONTHS = _words("January February March April May June July August September October November December")
COMMENT_FORMS = (
    (
        "Leave a Reply",
        "Your email address will not be published. Required fields are marked *",
        "Comment *",
        "Name *",
        "Email *",
        "Website",
        "Save my name, email, and website in this browser for the next time I comment.",
        "Post Comment",
    ),
    ("Leave a Comment", "Your email address will not be published.", "Comment", "Name", "Email"),
    ("No comments:", "Post a Comment"),
    ("Join the conversation", "Comments are closed."),
)


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------


@dataclass
class StreamStats:
    """What a generated stream is made of (``lines`` excludes the form-feed separators)."""

    documents: int = 0
    real_pages: int = 0
    lines: int = 0
    blank_lines: int = 0
    non_ascii_lines: int = 0
    junk_lines: int = 0  # boilerplate written by the generator (not counting the real pages)
    repeated_lines: int = 0  # paragraphs pasted again within their document
    bytes: int = 0

    def add_doc(self, lines: Sequence[str], kinds: Sequence[str]) -> None:
        self.documents += 1
        self.lines += len(lines)
        for line, kind in zip(lines, kinds, strict=True):
            if not line.strip():
                self.blank_lines += 1
            elif not line.isascii():
                self.non_ascii_lines += 1
            if kind == "junk":
                self.junk_lines += 1
            elif kind == "repeat":
                self.repeated_lines += 1

    def describe(self) -> str:
        n = max(self.lines, 1)
        nonblank = max(self.lines - self.blank_lines, 1)
        return (
            f"{self.documents} documents ({self.real_pages} real corpus pages), {self.lines} lines, "
            f"{self.bytes / MB:.1f} MB\n"
            f"non-ASCII lines: {self.non_ascii_lines / nonblank:.1%} of non-blank lines; "
            f"average line length {self.bytes / n:.0f} bytes; blank lines {self.blank_lines / n:.1%}\n"
            f"junk lines (boilerplate): {self.junk_lines / n:.1%}; repeated paragraphs: "
            f"{self.repeated_lines / n:.1%}; together {(self.junk_lines + self.repeated_lines) / n:.1%} "
            "(real pages not counted)"
        )


def real_pages(samples_dir: Path = SAMPLES_DIR) -> list[str]:
    """The scraped pages of ``corpus_samples`` (not their ``.expected`` outputs)."""
    pages = []
    for p in sorted(samples_dir.glob("*.txt")):
        if p.name.endswith(".expected.txt"):
            continue
        text = p.read_text(encoding="utf-8").replace("\f", "")
        pages.append(text if text.endswith("\n") else text + "\n")
    return pages


class DocGenerator:
    """Deterministic news-like documents with realistic scraping junk mixed in."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # -- words and sentences ------------------------------------------------

    def pick(self, plain: Sequence[str], accented: Sequence[str]) -> str:
        r = self.rng
        return r.choice(accented) if r.random() < ACCENTED_SHARE else r.choice(plain)

    def name(self) -> str:
        return f"{self.pick(FIRST_NAMES, ACCENTED_FIRST_NAMES)} {self.pick(LAST_NAMES, ACCENTED_LAST_NAMES)}"

    def place(self) -> str:
        return self.pick(PLACES, ACCENTED_PLACES)

    def noun_phrase(self) -> str:
        r = self.rng
        x = r.random()
        if x < 0.12:
            return self.name()
        if x < 0.22:
            return r.choice(ORGS)
        if x < 0.232:
            return f"{r.choice(LAST_NAMES)}’s {r.choice(NOUNS)}"
        det = r.choice(("the", "the", "a", "its", "their", "this", "that"))
        if r.random() < 0.5:
            return f"{det} {r.choice(ADJECTIVES)} {r.choice(NOUNS)}"
        return f"{det} {r.choice(NOUNS)}"

    def clause(self) -> str:
        r = self.rng
        parts = [self.noun_phrase()]
        if r.random() < 0.25:
            parts.append(r.choice(ADVERBS))
        parts.append(r.choice(VERBS_PAST))
        parts.append(self.noun_phrase())
        if r.random() < 0.7:
            parts.append(f"{r.choice(PREPOSITIONS)} {self.noun_phrase()}")
        if r.random() < 0.3:
            parts.append(f"{r.choice(PREPOSITIONS)} {self.place()}")
        if r.random() < 0.35:
            parts.append(r.choice(TIME_WORDS))
        if r.random() < 0.15:
            parts.append(f"by {r.randint(2, 95)}.{r.randint(0, 9)} percent")
        return " ".join(parts)

    def sentence(self) -> str:
        r = self.rng
        body = self.clause()
        if r.random() < 0.35:
            body += f", {r.choice(CONJUNCTIONS)} {self.clause()}"
        body = body[0].upper() + body[1:]
        x = r.random()
        if x < 0.035:  # a quotation with curly quotes
            return f"“{body},” {self.name()} said."
        if x < 0.05:
            return f"“{body}.”"
        if x < 0.12:
            return f'"{body}," {r.choice(ORGS)} said in a statement.'
        return body + "."

    def paragraph(self) -> str:
        target = self.rng.randint(20, 60)
        sentences: list[str] = []
        words = 0
        while words < target:
            s = self.sentence()
            sentences.append(s)
            words += s.count(" ") + 1
        return " ".join(sentences)

    def headline(self, lo: int = 6, hi: int = 13) -> str:
        words = self.clause().split()[: self.rng.randint(lo, hi)]
        words[0] = words[0][0].upper() + words[0][1:]
        return " ".join(words)

    # -- junk ---------------------------------------------------------------

    def dateline(self) -> str:
        r = self.rng
        return (
            f"{r.choice(DOWS)}, {r.choice(MONTHS)} {r.randint(1, 28)}, {r.choice((2023, 2024, 2025))} "
            f"at {r.randint(1, 12)}:{r.randint(0, 59):02d} {r.choice(('AM', 'PM'))} {r.choice(TIMEZONES)}"
        )

    def caption(self) -> str:
        r = self.rng
        return (
            f"{self.name()} ({r.choice(('left', 'right', 'centre'))}) {r.choice(VERBS_PAST)} "
            f"{self.noun_phrase()} in {self.place()} {r.choice(TIME_WORDS)}. "
            f"Photo: {r.choice(AGENCIES)}"
        )

    def rail(self) -> list[str]:
        """'More in World' followed by short headlines and publisher names."""
        r = self.rng
        out = [f"More in {r.choice(SECTIONS)}"]
        for _ in range(r.randint(2, 4)):
            out.append(self.headline())
            out.append(r.choice(PUBLISHERS))
        return out[: 1 + r.randint(4, 8)]

    def related(self) -> list[str]:
        r = self.rng
        head = r.choice(("Related stories:", "Related Articles", "Read more:", "You may also like"))
        items = [
            self.headline(5, 10) + (f" - {r.choice(PUBLISHERS)}" if r.random() < 0.4 else "")
            for _ in range(r.randint(3, 5))
        ]
        return [head, *items]

    def inline_junk(self) -> list[str]:
        """One piece of junk to drop between paragraphs."""
        r = self.rng
        x = r.random()
        if x < 0.30:
            c = self.caption()
            return [f"{c} alt={c}>"] if r.random() < 0.6 else [c]
        if x < 0.45:
            return [f"FILE PHOTO: {self.caption()}"]
        if x < 0.60:
            return ["Share this article"]
        if x < 0.75:
            return self.rail()
        if x < 0.85:
            return self.related()
        if x < 0.93:
            return [r.choice(("Advertisement", "ADVERTISEMENT", "Story continues below advertisement"))]
        return [f"Sign up for our {r.choice(SECTIONS)} newsletter"]

    # -- a document ---------------------------------------------------------

    def document(self) -> tuple[list[str], list[str]]:
        """Lines (without newlines) and their kinds: "text", "junk" or "repeat"."""
        r = self.rng
        lines: list[str] = []
        kinds: list[str] = []

        def add(items: Sequence[str], kind: str) -> None:
            lines.extend(items)
            kinds.extend([kind] * len(items))

        # page header
        if r.random() < 0.5:
            add([r.choice(KICKERS)], "junk")
        add([self.headline(7, 14)], "text")
        if r.random() < 0.4:
            add([r.choice(PUBLISHERS)], "junk")
        if r.random() < 0.6:
            by = self.name() if r.random() < 0.8 else f"{self.name()} and {self.name()}"
            add([f"By {by}"], "junk")
        if r.random() < 0.5:
            add([self.dateline()], "junk")
        if r.random() < 0.4:
            add([f"{r.randint(2, 12)} min read"], "junk")
        if r.random() < 0.3:
            add([str(r.randint(1, 999))], "junk")

        # body with junk in between
        paras = [self.paragraph() for _ in range(r.randint(8, 40))]
        junk_p = r.uniform(0.06, 0.22)
        body: list[tuple[str, str]] = []
        for p in paras:
            body.append((p, "text"))
            if r.random() < junk_p:
                body.extend((j, "junk") for j in self.inline_junk())
        # repeated paragraphs: a pasted stretch, or single paragraphs again
        x = r.random()
        if x < 0.15:
            start = r.randrange(len(paras))
            stretch = paras[start : start + r.randint(3, 12)]
            body.extend((p, "repeat") for p in stretch)
            body.extend((p, "text") for p in (self.paragraph() for _ in range(r.randint(0, 3))))
        elif x < 0.35:
            for _ in range(r.randint(1, 2)):
                pos = r.randrange(len(body) + 1)
                body.insert(pos, (r.choice(paras), "repeat"))
        for text, kind in body:
            add([text], kind)

        # page footer
        if r.random() < 0.35:
            add([f"Copyright © {r.choice((2023, 2024, 2025))} {r.choice(PUBLISHERS)}. All rights reserved."], "junk")
        if r.random() < 0.25:
            add(list(r.choice(COMMENT_FORMS)), "junk")
        if r.random() < 0.15:  # some scrapes keep blank lines between paragraphs
            spaced: list[str] = []
            spaced_kinds: list[str] = []
            for line, kind in zip(lines, kinds, strict=True):
                spaced += [line, ""]
                spaced_kinds += [kind, "blank"]
            lines, kinds = spaced[:-1], spaced_kinds[:-1]
        return lines, kinds


REAL_PAGE_EVERY = 40  # about one document in 40 is a real scraped page


def generate_documents(
    target_bytes: int, seed: int = DEFAULT_SEED, stats: StreamStats | None = None
) -> Iterator[bytes]:
    """Yield encoded documents, each followed by a form-feed line except the
    last, until at least ``target_bytes`` are out. Deterministic for a seed."""
    stats = stats if stats is not None else StreamStats()
    gen = DocGenerator(seed)
    pages = real_pages()
    pick = random.Random(seed + 1)
    written = 0
    first = True
    while written < target_bytes:
        if pages and pick.randrange(REAL_PAGE_EVERY) == 0:
            text = pages[pick.randrange(len(pages))]
            doc_lines = text.splitlines()
            stats.add_doc(doc_lines, ["real"] * len(doc_lines))
            stats.real_pages += 1
        else:
            doc_lines, kinds = gen.document()
            stats.add_doc(doc_lines, kinds)
            text = "\n".join(doc_lines) + "\n"
        data = (b"" if first else FORM_FEED_LINE.encode()) + text.encode("utf-8")
        first = False
        written += len(data)
        yield data
    stats.bytes = written


def build_stream(target_bytes: int, seed: int = DEFAULT_SEED) -> tuple[bytes, StreamStats]:
    """The whole stream in memory (for small streams and tests)."""
    stats = StreamStats()
    data = b"".join(generate_documents(target_bytes, seed, stats))
    return data, stats


def _params(target_bytes: int, seed: int) -> dict[str, object]:
    samples = hashlib.sha256("".join(real_pages()).encode()).hexdigest()[:16]
    return {"generator": GENERATOR_VERSION, "seed": seed, "target_bytes": target_bytes, "samples": samples}


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def stream_path(mb: int, seed: int) -> Path:
    """Where the stream of ``mb`` MB and ``seed`` is kept (``ensure_stream`` builds it)."""
    name = "stream.txt" if (mb, seed) == (DEFAULT_MB, DEFAULT_SEED) else f"stream-{mb}mb-s{seed}.txt"
    return DATA_DIR / name


def prepared_stream(mb: int, seed: int = DEFAULT_SEED) -> tuple[Path, StreamStats]:
    """The stream of ``mb`` MB and ``seed``: where it is kept, built there unless cached."""
    path = stream_path(mb, seed)
    return path, ensure_stream(path, mb * MB, seed)


def ensure_stream(path: Path, target_bytes: int, seed: int) -> StreamStats:
    """Generate the stream at ``path`` unless a file built with the same
    parameters is already there (checked through a ``.json`` sidecar)."""
    meta_path = path.with_name(path.name + ".json")
    params = _params(target_bytes, seed)
    if path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            if (
                meta.get("params") == params
                and meta.get("size") == path.stat().st_size
                and meta.get("sha256") == _file_sha256(path)
            ):
                print(f"reusing {path.relative_to(ROOT)} (same parameters, hash checked)")
                return StreamStats(**meta["stats"])
        except (OSError, ValueError, TypeError, KeyError):
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    stats = StreamStats()
    tmp = path.with_name(path.name + ".tmp")
    t0 = time.perf_counter()
    with tmp.open("wb") as f:
        for chunk in generate_documents(target_bytes, seed, stats):
            f.write(chunk)
    tmp.replace(path)
    meta = {"params": params, "size": path.stat().st_size, "sha256": _file_sha256(path), "stats": asdict(stats)}
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"generated {path.relative_to(ROOT)} in {time.perf_counter() - t0:.1f} s")
    return stats


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------

FLOOR_SCRIPT = """\
import sys, xxhash
h = xxhash.xxh3_64_intdigest
seen = set()
write = sys.stdout.buffer.write
for line in sys.stdin.buffer:
    k = h(line)
    if k not in seen:
        seen.add(k)
    write(line)
"""


@dataclass
class Tool:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    tool: str
    best_seconds: float
    best_cpu_seconds: float
    peak_rss_mb: float
    output_bytes: int
    input_bytes: int
    runs: list[float]
    cpus: list[float]

    @property
    def mb_per_s(self) -> float:
        return self.input_bytes / MB / self.best_seconds


def pin_prefix(cpu: int | None = None) -> tuple[list[str], str]:
    """``taskset -c N`` for ``cpu`` (default: the first CPU this process may use), when possible."""
    taskset = shutil.which("taskset")
    if cpu is None:
        try:
            cpu = min(os.sched_getaffinity(0))
        except (AttributeError, OSError, ValueError):
            cpu = 0
    if taskset:
        probe = subprocess.run([taskset, "-c", str(cpu), "true"], capture_output=True)
        if probe.returncode == 0:
            return [taskset, "-c", str(cpu)], f"pinned to CPU {cpu} with taskset"
    return [], "not pinned (taskset unavailable): results may use more than one core"


def byte_compile(tree: Path = ROOT) -> None:
    """The tree's package byte-compiled, as ``pip install`` leaves it: with
    PYTHONDONTWRITEBYTECODE set (as on our machines) a checkout would
    otherwise compile its sources again on every run (about 0.1 s)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "cleaner")], check=True,
                   stdout=subprocess.DEVNULL)


def run_once(
    argv: Sequence[str], stdin_path: Path, out_path: Path, env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds (user + system), peak RSS in MB and output size of one run
    (from ``cwd``: ``python -m cleaner`` takes the package found there)."""
    full_env = {**os.environ, **(env or {})}
    with stdin_path.open("rb") as fin, out_path.open("wb") as fout:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdin=fin, stdout=fout, stderr=subprocess.PIPE, env=full_env, cwd=cwd)
        assert proc.stderr is not None
        err = proc.stderr.read()  # small; read before waiting so the child cannot block on it
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    size = out_path.stat().st_size
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss / 1024, size  # ru_maxrss is in KiB on Linux


def measure(tool_list: Sequence[Tool], prefix: Sequence[str], stream: Path, repeat: int) -> list[Result]:
    """Run every tool ``repeat`` times, round-robin (tool 1, tool 2, ..., tool 1, ...), so that a
    burst of load from other processes does not fall on one tool's runs only."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    runs: list[list[float]] = [[] for _ in tool_list]
    cpus: list[list[float]] = [[] for _ in tool_list]
    peak = [0.0 for _ in tool_list]
    size = [0 for _ in tool_list]
    for round_no in range(repeat):
        for i, tool in enumerate(tool_list):
            out = OUT_DIR / f"tool{i}.out"
            sec, cpu, rss, size[i] = run_once([*prefix, *tool.argv], stream, out, tool.env)
            out.unlink(missing_ok=True)
            runs[i].append(sec)
            cpus[i].append(cpu)
            peak[i] = max(peak[i], rss)
            print(f"  round {round_no + 1}: {tool.name}: {sec:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    n = stream.stat().st_size
    return [
        Result(t.name, min(runs[i]), min(cpus[i]), peak[i], size[i], n, runs[i], cpus[i])
        for i, t in enumerate(tool_list)
    ]


def tools(with_dedup_off: bool) -> list[Tool]:
    py = sys.executable
    ts = [
        Tool("python read+xxh3+write (floor)", [py, "-c", FLOOR_SCRIPT]),
        Tool("awk '!seen[$0]++'", ["awk", "!seen[$0]++"], {"LC_ALL": "C"}),
        Tool("clean (default rules, dedup doc)", [py, "-m", "cleaner"]),
    ]
    if with_dedup_off:
        ts.append(Tool("clean --dedup off", [py, "-m", "cleaner", "--dedup", "off"]))
    ts.append(Tool("clean --dedup stream (near on)", [py, "-m", "cleaner", "--dedup", "stream"]))
    return ts


def measure_jobs(stream: Path) -> None:
    """``clean -j 1`` against ``clean -j 2`` on the stream's documents, one
    file each (a FILE is one document: files holding several form-feed
    separated pages would be cut at the first page's comment form), both
    cores allowed; wall time, best of two. Twice: duplicates within each
    file (all work in the workers), and ``--dedup stream`` (the duplicate
    pass runs in the parent, in input order)."""
    docs = stream.read_bytes().split(b"\n\f\n")
    folder = DATA_DIR / "pages"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files = []
    for k, doc in enumerate(docs):
        name = f"p{k:05d}.txt"
        (folder / name).write_bytes(doc + b"\n")
        files.append(name)
    mb = sum(len(d) + 1 for d in docs) / MB
    print()
    for scope in ("doc", "stream"):
        times = {}
        for jobs in (1, 2):
            best = float("inf")
            for _ in range(2):
                out = OUT_DIR / f"jobs{jobs}"
                shutil.rmtree(out, ignore_errors=True)
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "cleaner", "--dedup", scope, "-j", str(jobs),
                                "--out-dir", str(out), *files], check=True, cwd=folder, stdout=subprocess.DEVNULL)
                best = min(best, time.perf_counter() - t0)
            times[jobs] = best
        print(f"-j on {len(files)} files ({mb:.0f} MB), --dedup {scope}, both cores: "
              f"-j 1 {times[1]:.2f} s ({mb / times[1]:.1f} MB/s), -j 2 {times[2]:.2f} s ({mb / times[2]:.1f} MB/s): "
              f"speed-up x{times[1] / times[2]:.2f}")


def run_tree(argv: Sequence[str], stdin_path: Path, out_path: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of a run and every process
    it started: with ``-j`` the workers are children of a forkserver, which
    ``os.wait4`` on the command alone does not count. This process becomes a
    child subreaper (Linux), so the orphaned forkserver is reparented here and
    its rusage, which holds its reaped workers', is collected too."""
    import ctypes

    pr_set_child_subreaper = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    with stdin_path.open("rb") as fin, out_path.open("wb") as fout:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdin=fin, stdout=fout, env=os.environ, cwd=ROOT)
        cpu = 0.0
        elapsed = None
        while True:  # the command, then whatever it left behind
            try:
                pid, status, usage = os.wait4(-1, 0)
            except ChildProcessError:
                break
            cpu += usage.ru_utime + usage.ru_stime
            if pid == proc.pid:
                elapsed = time.perf_counter() - t0
                if os.waitstatus_to_exitcode(status) != 0:
                    raise RuntimeError(f"{' '.join(argv)} failed")
    assert elapsed is not None
    return elapsed, cpu


def measure_stdin_jobs(stream: Path, repeat: int, prefix: Sequence[str] = ()) -> None:
    """``clean < stream`` against ``clean -j 2 < stream``: the documents of
    stdin (form-feed separated) go to workers in batches. Both cores allowed,
    runs interleaved; wall and CPU time (workers included) of each run, and
    whether the outputs are byte-identical."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    mb = stream.stat().st_size / MB
    runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for _ in range(repeat):
        for jobs in (1, 2):
            argv = [*prefix, sys.executable, "-m", "cleaner", *(["-j", str(jobs)] if jobs > 1 else [])]
            runs[jobs].append(run_tree(argv, stream, OUT_DIR / f"stdin-jobs{jobs}.out"))
    one, two = (OUT_DIR / f"stdin-jobs{j}.out" for j in (1, 2))
    same = one.read_bytes() == two.read_bytes()
    print(f"\n-j on stdin ({stream.name}, {mb:.0f} MB, {repeat} runs each, wall / CPU incl. workers):")
    for jobs in (1, 2):
        each = ", ".join(f"{w:.2f} / {c:.2f} s" for w, c in runs[jobs])
        best = min(w for w, _ in runs[jobs])
        print(f"  clean{' -j 2' if jobs > 1 else '     '} < stream: {each}; best {best:.2f} s ({mb / best:.1f} MB/s)")
    best1, best2 = (min(w for w, _ in runs[j]) for j in (1, 2))
    print(f"  speed-up x{best1 / best2:.2f}; outputs {'byte-identical' if same else 'DIFFER'}")
    one.unlink()
    two.unlink()
    if not same:
        raise SystemExit("clean -j 2 on stdin wrote other bytes than clean")


def source_info() -> str:
    """Which code is measured: the checkout holding this script (``-m cleaner`` runs from it)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "cleaner", "rules"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"code: {ROOT} (not a git checkout)"
    state = "with uncommitted changes in cleaner/ or rules/" if dirty else "clean"
    return f"code: {ROOT} at commit {head} ({state})"


def clean_info() -> str:
    """Rules loaded and whether the Hyperscan prefilter is active."""
    py = sys.executable
    listed = subprocess.run([py, "-m", "cleaner", "rules", "list"], capture_output=True, text=True, cwd=ROOT)
    n_rules = len(listed.stdout.splitlines()) if listed.returncode == 0 else -1
    probe = (
        "from cleaner.prefilter import hyperscan_status\n"
        "print(hyperscan_status())\n"
        "from cleaner import Cleaner\n"
        "pf = getattr(getattr(Cleaner(), 'engine', None), 'prefilter', None)\n"
        "print(getattr(pf, 'uses_hyperscan', 'unknown'), len(getattr(pf, 'always', ())))\n"
    )
    got = subprocess.run([py, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    lines = got.stdout.split("\n")
    if got.returncode == 0 and len(lines) >= 2:
        used, always = lines[1].split()
        hs = f"{lines[0]}; Cleaner prefilter uses it: {used} ({always} rules checked on every line)"
    else:
        last = (got.stderr.strip().splitlines() or ["no output"])[-1]
        hs = f"hyperscan: could not probe the Cleaner ({last})"
    return f"rules loaded (clean rules list | wc -l): {n_rules}\n{hs}"


# Rounds of one tool whose CPU times spread more than this are a busy host's:
# on a quiet one the rules alone repeat within a few percent
QUIET_SPREAD = 0.10


def host_noise(cpus: Sequence[float]) -> str:
    """How far one tool's CPU times spread over the rounds, and whether that
    is a quiet host's (the same work every round: the spread is the host's)."""
    lo, hi = min(cpus), max(cpus)
    spread = hi / lo - 1
    verdict = ("a quiet host" if spread <= QUIET_SPREAD else
               "a busy host: the ratios above measure it as much as the cleaner")
    return f"the rules alone took {lo:.2f} to {hi:.2f} s CPU over the rounds (spread {spread:.0%}): {verdict}"


def print_table(results: Sequence[Result]) -> None:
    header = ("tool", "MB/s", "seconds", "CPU s", "peak RSS MB", "output bytes")
    rows = [
        (
            r.tool,
            f"{r.mb_per_s:.1f}",
            f"{r.best_seconds:.2f}",
            f"{r.best_cpu_seconds:.2f}",
            f"{r.peak_rss_mb:.0f}",
            f"{r.output_bytes:,}",
        )
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]

    def fmt(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    print(fmt(header))
    print("|" + "|".join(("-" * (w + 1) + ":") if i else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|")
    for row in rows:
        print(fmt(row))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=DEFAULT_MB, help="stream size in MB (10^6 bytes); default %(default)s")
    ap.add_argument("--quick", action="store_true", help=f"use a {QUICK_MB} MB stream (smoke test)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool; the best is reported (default 3)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed (default %(default)s)")
    ap.add_argument("--no-dedup-off", action="store_true", help="skip the `clean --dedup off` run")
    ap.add_argument("--no-jobs", dest="jobs", action="store_false", help="skip the -j 1 / -j 2 comparison")
    ap.add_argument("--stdin-jobs", type=Path, metavar="PATH",
                    help="only compare `clean < PATH` with `clean -j 2 < PATH` (--repeat runs each)")
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin every tool to (default: the first allowed)")
    ap.add_argument("--generate-only", action="store_true", help="build the stream, print its composition, stop")
    args = ap.parse_args(argv)
    mb = QUICK_MB if args.quick else args.mb
    if mb < 1 or args.repeat < 1:
        ap.error("--mb and --repeat must be at least 1")

    if args.stdin_jobs:
        print(source_info())
        measure_stdin_jobs(args.stdin_jobs, args.repeat)
        return 0
    stream, stats = prepared_stream(mb, args.seed)
    print(stats.describe())
    if args.generate_only:
        return 0

    prefix, pin_note = pin_prefix(args.cpu)
    print(
        f"\nmachine: {os.cpu_count()} CPUs; each tool {pin_note}; best of {args.repeat} runs; "
        f"python {sys.version.split()[0]} ({sys.executable})"
    )
    print(source_info())
    print(clean_info())
    byte_compile()
    # start-up on empty input; also a warm-up (fills the Hyperscan database cache if the rules changed)
    startup, _, _, _ = run_once([*prefix, sys.executable, "-m", "cleaner"], Path(os.devnull), Path(os.devnull))
    print()
    results = measure(tools(not args.no_dedup_off), prefix, stream, args.repeat)
    print(f"\nstream: {stream.relative_to(ROOT)}, {stream.stat().st_size:,} bytes")
    print_table(results)
    by = {r.tool: r for r in results}
    rules_only = by.get("clean --dedup off")
    stream_near = by.get("clean --dedup stream (near on)")
    if rules_only and stream_near:
        cost = stream_near.best_cpu_seconds / rules_only.best_cpu_seconds - 1
        print(f"--dedup stream with near matching costs {cost:+.0%} CPU time over the rules alone "
              f"(target: at most +40%)")
        # the two run back to back in each round: their ratio there is less
        # exposed to the host's drift than the ratio of two bests
        paired = sorted(s / o - 1 for o, s in zip(rules_only.cpus, stream_near.cpus, strict=True))
        print(f"  per round (the two back to back): {', '.join(f'{c:+.0%}' for c in paired)}; "
              f"median {statistics.median(paired):+.0%}")
        print(f"  {host_noise(rules_only.cpus)}")
    if args.jobs:
        measure_jobs(stream)
        measure_stdin_jobs(stream, args.repeat)
    print(
        f"MB = 10^6 bytes; MB/s and seconds: best wall time, start-up included (`clean` on empty input: "
        f"{startup:.2f} s); CPU s: least user+system time of the child (wall well above CPU means the "
        "core was shared); peak RSS: largest ru_maxrss over the runs."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
