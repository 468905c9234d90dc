#!/usr/bin/python3
"""Checks chatd's metrics, and what is built on them, against their
catalogue: the tables of docs/operations.md, section "Monitoring", the one
place where every metric's name, type, labels, label values and buckets
are written down.

  check-metrics.py catalogue [--json]
      Reads the catalogue and checks that it is consistent (names, types,
      units, a values row for every label, buckets for every histogram);
      prints a summary, or the catalogue as JSON.
  check-metrics.py exposition FILE [--format auto|text|openmetrics]
                   [--complete] [--cluster] [--per-room] [--json]
      Parses FILE (a scrape of chatd: the Prometheus text format 0.0.4, or
      OpenMetrics, told apart by its closing "# EOF" unless --format says)
      with the Prometheus client's own parser, and checks every family
      against the catalogue: known name, type, unit (OpenMetrics), labels,
      label values, histogram buckets. --complete: every family chatd
      always exposes is there (with --cluster, the cluster's too; with
      --per-room, the per-room ones may be), with every label value of a
      closed set that is not marked "(later)". --json prints the samples
      as JSON ({"samples": [{"name", "labels", "value"}]}) for a test to
      compare with what happened.
  check-metrics.py dashboard FILE [--json]
      A Grafana dashboard: valid JSON, a Prometheus data source variable
      that every query uses, and queries that name only catalogued metrics
      and their labels. --json prints the metrics it uses.
  check-metrics.py alerts FILE [--tests TESTFILE] [--json]
      Prometheus alerting rules: the rule file's structure (as promtool
      expects it), a severity and a summary on every alert, expressions
      that name only catalogued metrics and their labels; with --tests,
      every alert is expected to fire by at least one case of the promtool
      unit tests in TESTFILE. --json prints the alerts and the metrics
      they use.

Exit status: 0 all is well, 1 problems (each on stderr), 2 usage, 3 a
Python module is missing (prometheus_client: apt-get install
python3-prometheus-client; yaml: apt-get install python3-yaml).
"""

import argparse
import json
import math
import os
import re
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DOCS = os.path.join(HERE, "..", "docs", "operations.md")

TYPES = {"counter", "gauge", "histogram", "info"}
EXPOSED = {"always", "cluster", "per room"}
# Labels Prometheus adds to every series it scrapes, and the histogram's.
TARGET_LABELS = {"instance", "job"}
RESERVED_LABELS = TARGET_LABELS | {"le", "quantile"}
# Series Prometheus makes itself for every target.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
UNITS = ("seconds", "bytes")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


class Problems:
    """Collects what is wrong, to report all of it at once."""

    def __init__(self):
        self.items = []

    def add(self, text):
        self.items.append(text)

    def exit_if_any(self):
        for item in self.items:
            print(f"check-metrics: {item}", file=sys.stderr)
        if self.items:
            sys.exit(1)


def need(module, package):
    try:
        return __import__(module)
    except ImportError:
        print(
            f"check-metrics: needs the Python module {module}: "
            f"apt-get install {package} (and run this script with /usr/bin/python3)",
            file=sys.stderr,
        )
        sys.exit(3)


# --- The catalogue -------------------------------------------------------------


def monitoring_section(text):
    start = text.find("\n## Monitoring\n")
    if start < 0:
        return None
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def table_rows(section, header):
    """The cells of every row of every table whose header line is `header`."""
    rows = []
    lines = section.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == header:
            i += 2  # the header and its |---| line
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append((i + 1, cells))
                i += 1
        else:
            i += 1
    return rows


def ticked(cell):
    """The `backticked` words of a cell, in order."""
    return re.findall(r"`([^`]*)`", cell)


def load_catalogue(path, problems):
    """{name: {type, labels, exposed, values: {label: None | {value: later}}, buckets}}."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        print(f"check-metrics: cannot read the catalogue {path}: {e}", file=sys.stderr)
        sys.exit(2)
    section = monitoring_section(text)
    if section is None:
        problems.add(f"{path}: no section '## Monitoring'")
        return {}
    where = f"{os.path.basename(path)} (Monitoring)"
    metrics = {}
    for line, cells in table_rows(section, "| metric | type | labels | exposed | meaning |"):
        if len(cells) != 5:
            problems.add(f"{where}: line {line}: expected 5 cells, found {len(cells)}")
            continue
        names = ticked(cells[0])
        if len(names) != 1:
            problems.add(f"{where}: line {line}: the metric cell must hold one `name`")
            continue
        name = names[0]
        if name in metrics:
            problems.add(f"{where}: line {line}: {name} is listed twice")
        metrics[name] = {
            "type": cells[1],
            "labels": ticked(cells[2]),
            "exposed": cells[3],
            "values": {},
            "buckets": None,
            "line": line,
        }
    for line, cells in table_rows(section, "| metric | label | values |"):
        if len(cells) != 3 or len(ticked(cells[0])) != 1 or len(ticked(cells[1])) != 1:
            problems.add(f"{where}: line {line}: expected | `metric` | `label` | values |")
            continue
        name, label = ticked(cells[0])[0], ticked(cells[1])[0]
        if name not in metrics:
            problems.add(f"{where}: line {line}: values for {name}, which is not catalogued")
            continue
        if label in metrics[name]["values"]:
            problems.add(f"{where}: line {line}: values of {name}{{{label}}} given twice")
        if cells[2].startswith("*any*"):
            metrics[name]["values"][label] = None
            continue
        values = {}
        for item in cells[2].split(", "):
            m = re.fullmatch(r"`([^`]+)`( \(later\))?", item.strip())
            if not m:
                problems.add(f"{where}: line {line}: cannot read the value {item!r}")
                continue
            values[m.group(1)] = bool(m.group(2))
        metrics[name]["values"][label] = values
    for line, cells in table_rows(section, "| metric | buckets |"):
        if len(cells) != 2 or len(ticked(cells[0])) != 1:
            problems.add(f"{where}: line {line}: expected | `metric` | buckets |")
            continue
        name = ticked(cells[0])[0]
        if name not in metrics:
            problems.add(f"{where}: line {line}: buckets for {name}, which is not catalogued")
            continue
        try:
            metrics[name]["buckets"] = [float(b) for b in cells[1].split(",")]
        except ValueError:
            problems.add(f"{where}: line {line}: buckets must be numbers: {cells[1]}")
    if not metrics:
        problems.add(f"{where}: no table '| metric | type | labels | exposed | meaning |'")
    lint_catalogue(metrics, where, problems)
    return metrics


def lint_catalogue(metrics, where, problems):
    for name, m in metrics.items():
        at = f"{where}: line {m['line']}: {name}"
        if not re.fullmatch(r"chatd_[a-z0-9_]+", name):
            problems.add(f"{at}: names are chatd_ and lower-case words")
        if m["type"] not in TYPES:
            problems.add(f"{at}: type {m['type']!r} is none of {sorted(TYPES)}")
        if m["exposed"] not in EXPOSED:
            problems.add(f"{at}: exposed {m['exposed']!r} is none of {sorted(EXPOSED)}")
        base = name
        if m["type"] == "counter":
            if not name.endswith("_total"):
                problems.add(f"{at}: a counter's name ends in _total")
            base = name.removesuffix("_total")
        elif name.endswith("_total"):
            problems.add(f"{at}: only counters end in _total")
        if m["type"] == "info" and not name.endswith("_info"):
            problems.add(f"{at}: an info's name ends in _info")
        if m["type"] == "histogram" and not base.endswith(tuple("_" + u for u in UNITS)):
            problems.add(f"{at}: a histogram's name ends in its unit (_seconds, _bytes)")
        if any(name.endswith(s) for s in HISTOGRAM_SUFFIXES + ("_created",)):
            problems.add(f"{at}: the name ends in a suffix Prometheus reserves")
        for label in m["labels"]:
            if label in RESERVED_LABELS:
                problems.add(f"{at}: the label {label} is reserved")
            if label not in m["values"]:
                problems.add(f"{at}: no row in 'Label values' for the label {label}")
        for label in m["values"]:
            if label not in m["labels"]:
                problems.add(f"{at}: values for {label}, which is not among its labels")
        if m["exposed"] == "per room" and "room" not in m["labels"]:
            problems.add(f"{at}: a per-room family has the label room")
        buckets = m["buckets"]
        if m["type"] == "histogram":
            if not buckets:
                problems.add(f"{at}: no row in 'Histogram buckets'")
            elif any(b >= c for b, c in zip(buckets, buckets[1:])):
                problems.add(f"{at}: buckets must grow: {buckets}")
        elif buckets is not None:
            problems.add(f"{at}: buckets for a {m['type']}")


def catalogue_json(metrics):
    out = {}
    for name, m in metrics.items():
        values = {}
        for label, vals in m["values"].items():
            values[label] = None if vals is None else {
                "now": [v for v, later in vals.items() if not later],
                "later": [v for v, later in vals.items() if later],
            }
        out[name] = {
            "type": m["type"],
            "labels": m["labels"],
            "exposed": m["exposed"],
            "values": values,
            "buckets": m["buckets"],
        }
    return out


# --- A scrape -------------------------------------------------------------------


def family_names(name, m, openmetrics):
    """The family name and type the Prometheus parser reports for a catalogued metric."""
    if m["type"] == "counter":
        return name.removesuffix("_total"), "counter"
    if m["type"] == "info":
        return (name.removesuffix("_info"), "info") if openmetrics else (name, "gauge")
    return name, m["type"]


def check_exposition(metrics, text, fmt, args, problems):
    need("prometheus_client", "python3-prometheus-client")
    from prometheus_client import parser as text_parser
    from prometheus_client.openmetrics import parser as om_parser

    openmetrics = fmt == "openmetrics" or (
        fmt == "auto" and text.rstrip("\n").endswith("# EOF")
    )
    parse = om_parser if openmetrics else text_parser
    try:
        families = list(parse.text_string_to_metric_families(text))
    except Exception as e:  # the parsers raise ValueError and friends
        problems.add(
            f"the scrape does not parse as {'OpenMetrics' if openmetrics else 'the text format 0.0.4'}: {e}"
        )
        return []
    by_family = {family_names(n, m, openmetrics): n for n, m in metrics.items()}
    by_name = {}
    for n, m in metrics.items():
        by_name.setdefault(family_names(n, m, openmetrics)[0], n)
        by_name.setdefault(n, n)
    seen = set()
    samples = []
    for family in families:
        name = by_family.get((family.name, family.type))
        if name is None:
            if family.name in by_name:
                other = by_name[family.name]
                problems.add(
                    f"{family.name}: exposed as a {family.type}, catalogued as a {metrics[other]['type']} ({other})"
                )
            else:
                problems.add(f"{family.name} ({family.type}): not in the catalogue (docs/operations.md, Monitoring)")
            continue
        m = metrics[name]
        if name in seen:
            problems.add(f"{name}: exposed twice")
        seen.add(name)
        if openmetrics:
            unit = next((u for u in UNITS if family.name.endswith("_" + u)), "")
            if family.unit != unit:
                problems.add(f"{name}: OpenMetrics unit {family.unit!r}, expected {unit!r}")
        check_samples(name, m, family, problems)
        for s in family.samples:
            samples.append({"name": s.name, "labels": s.labels, "value": json_number(s.value)})
    if args.complete:
        check_complete(metrics, families, seen, openmetrics, args, problems)
    return samples


def json_number(value):
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return value


def check_samples(name, m, family, problems):
    histogram = m["type"] == "histogram"
    buckets = {}
    for s in family.samples:
        labels = dict(s.labels)
        suffix = s.name[len(family.name):]
        if histogram:
            if suffix not in HISTOGRAM_SUFFIXES:
                problems.add(f"{name}: unexpected sample {s.name}")
                continue
            if suffix == "_bucket":
                le = labels.pop("le", None)
                if le is None:
                    problems.add(f"{name}: a bucket without le")
                    continue
                key = tuple(sorted(labels.items()))
                buckets.setdefault(key, []).append(float(le))
        if set(labels) != set(m["labels"]):
            problems.add(
                f"{s.name}: labels {sorted(labels)}, catalogued {sorted(m['labels'])}"
            )
        for label, value in labels.items():
            allowed = m["values"].get(label)
            if allowed is not None and value not in allowed:
                problems.add(
                    f"{s.name}{{{label}=\"{value}\"}}: {value!r} is not among the catalogued values {sorted(allowed)}"
                )
        if m["type"] == "counter" and not s.value >= 0:
            problems.add(f"{s.name}: a counter at {s.value}")
        if m["type"] == "info" and s.value != 1:
            problems.add(f"{s.name}: an info is 1, not {s.value}")
    for key, les in buckets.items():
        expected = m["buckets"] + [math.inf]
        if sorted(les) != expected:
            problems.add(f"{name}{dict(key)}: buckets {sorted(les)}, catalogued {expected}")


def check_complete(metrics, families, seen, openmetrics, args, problems):
    for name, m in metrics.items():
        wanted = m["exposed"] == "always" or (m["exposed"] == "cluster" and args.cluster)
        if m["exposed"] == "per room":
            continue  # present only with rooms and metrics_per_room
        if wanted and name not in seen:
            problems.add(f"{name}: catalogued as exposed {m['exposed']}, but absent")
        if not wanted and name in seen:
            problems.add(f"{name}: exposed only in a cluster, but present (is this a cluster node? pass --cluster)")
        if not wanted or name not in seen or m["type"] == "histogram":
            continue
        family_name = family_names(name, m, openmetrics)[0]
        family = next(f for f in families if f.name == family_name)
        present = {tuple(sorted(s.labels.items())) for s in family.samples}
        for label, values in m["values"].items():
            if values is None:
                continue
            for value, later in values.items():
                if not later and not any((label, value) in p for p in present):
                    problems.add(f'{name}{{{label}="{value}"}}: absent (every value of a closed set is exposed from the start)')
    if not args.per_room:
        for name, m in metrics.items():
            if m["exposed"] == "per room" and name in seen:
                problems.add(f"{name}: per-room series without --per-room (metrics_per_room is off by default)")


# --- PromQL, lightly ---------------------------------------------------------------

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan", "atan2",
}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def promql_names(expr):
    """(metric, matcher labels) of every selector, and the labels of every
    by/without/on/ignoring/group_* list, of a PromQL expression."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries: [5m], [$__rate_interval]
    selectors = []

    def selector(m):
        labels = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(2))
        selectors.append((m.group(1), labels))
        return " " + (m.group(1) or "")

    text = re.sub(r"([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^}]*)\}", selector, text)
    grouped = []

    def label_list(m):
        grouped.extend(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(2)))
        return " "

    text = re.sub(r"\b(" + "|".join(LABEL_LISTS) + r")\s*\(([^)]*)\)", label_list, text)
    for m in re.finditer(r"(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_KEYWORDS:
            continue
        if not any(s[0] == word for s in selectors):
            selectors.append((word, []))
    # A selector found inside the text again (after a matcher) is one.
    unique = []
    for s in selectors:
        if s[0] and (s not in unique):
            unique.append(s)
    return unique, grouped


def series_of(metrics, name):
    """The catalogued metric a series name belongs to, and whether it is a bucket."""
    if name in metrics:
        return name, False
    for suffix in HISTOGRAM_SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and metrics.get(base, {}).get("type") == "histogram":
            return base, suffix == "_bucket"
    return None, False


def check_expr(metrics, expr, where, problems):
    """Checks one PromQL expression; returns the catalogued metrics it uses."""
    used = set()
    selectors, grouped = promql_names(expr)
    if not selectors:
        problems.add(f"{where}: no metric in {expr!r}")
    known_labels = set(TARGET_LABELS)
    for name, labels in selectors:
        base, bucket = series_of(metrics, name)
        if base is None:
            if name not in PROMETHEUS_SERIES:
                problems.add(f"{where}: {name} is not in the catalogue (docs/operations.md, Monitoring): {expr!r}")
            continue
        used.add(base)
        allowed = set(metrics[base]["labels"]) | TARGET_LABELS | ({"le"} if bucket else set())
        known_labels |= allowed
        for label in labels:
            if label not in allowed:
                problems.add(f"{where}: {name} has no label {label}: {expr!r}")
    for label in grouped:
        if label not in known_labels:
            problems.add(f"{where}: no metric of {expr!r} has the label {label}")
    return used


# --- Grafana ------------------------------------------------------------------------


def walk_panels(panels):
    for panel in panels or []:
        yield panel
        yield from walk_panels(panel.get("panels"))


def check_dashboard(metrics, path, problems):
    try:
        with open(path, encoding="utf-8") as f:
            board = json.load(f)
    except (OSError, ValueError) as e:
        problems.add(f"{path}: not a JSON file: {e}")
        return set()
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        if key not in board:
            problems.add(f"{path}: no {key}")
    variables = board.get("templating", {}).get("list", [])
    sources = [
        v["name"] for v in variables
        if v.get("type") == "datasource" and v.get("query") == "prometheus"
    ]
    if not sources:
        problems.add(f"{path}: no Prometheus data source variable (templating: type datasource, query prometheus)")
    source_refs = {f"${{{s}}}" for s in sources} | {f"${s}" for s in sources}
    for v in variables:
        if v.get("type") == "query":
            if v.get("datasource", {}).get("uid") not in source_refs:
                problems.add(f"{path}: variable {v.get('name')}: its data source is not the data source variable")
            query = v.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", query or "")
            if not m:
                problems.add(f"{path}: variable {v.get('name')}: expected label_values(METRIC, LABEL)")
            else:
                check_expr(metrics, m.group(1), f"{path}: variable {v.get('name')}", problems)
    used = set()
    ids = set()
    count = 0
    for panel in walk_panels(board.get("panels")):
        title = panel.get("title", "?")
        where = f"{path}: panel {title!r}"
        if panel.get("type") == "row":
            continue
        count += 1
        if panel.get("id") in ids:
            problems.add(f"{where}: id {panel.get('id')} used twice")
        ids.add(panel.get("id"))
        if "gridPos" not in panel:
            problems.add(f"{where}: no gridPos")
        targets = panel.get("targets") or []
        if not targets:
            problems.add(f"{where}: no query")
        panel_source = (panel.get("datasource") or {}).get("uid")
        for target in targets:
            source = (target.get("datasource") or {}).get("uid", panel_source)
            if source not in source_refs:
                problems.add(f"{where}: a query's data source is {source!r}, not the data source variable")
            expr = target.get("expr")
            if not expr:
                problems.add(f"{where}: a query without expr")
                continue
            used |= check_expr(metrics, expr, where, problems)
    if count == 0:
        problems.add(f"{path}: no panels")
    return used


# --- Prometheus rules -----------------------------------------------------------------

DURATION = re.compile(r"(\d+(ms|s|m|h|d|w|y))+")
SEVERITIES = {"critical", "warning", "info"}


def check_alerts(metrics, path, tests, problems):
    yaml = need("yaml", "python3-yaml")
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        problems.add(f"{path}: not a YAML file: {e}")
        return {}, set()
    if not isinstance(doc, dict) or set(doc) != {"groups"}:
        problems.add(f"{path}: a rule file holds one key, groups")
        return {}, set()
    alerts = {}
    used = set()
    group_names = set()
    for group in doc["groups"] or []:
        name = group.get("name")
        if not name or name in group_names:
            problems.add(f"{path}: every group has a name of its own ({name!r})")
        group_names.add(name)
        extra = set(group) - {"name", "interval", "rules", "limit"}
        if extra:
            problems.add(f"{path}: group {name}: unknown keys {sorted(extra)}")
        for rule in group.get("rules") or []:
            alert = rule.get("alert")
            where = f"{path}: {alert or rule.get('record') or '?'}"
            extra = set(rule) - {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
            if extra:
                problems.add(f"{where}: unknown keys {sorted(extra)}")
            if not isinstance(rule.get("expr"), str):
                problems.add(f"{where}: no expr")
                continue
            used |= check_expr(metrics, rule["expr"], where, problems)
            if not alert:
                continue
            if not re.fullmatch(r"Chatd[A-Z][A-Za-z0-9]*", alert):
                problems.add(f"{where}: alert names are Chatd and CamelCase words")
            if alert in alerts:
                problems.add(f"{where}: two alerts of that name")
            if "for" in rule and not DURATION.fullmatch(str(rule["for"])):
                problems.add(f"{where}: for: {rule['for']!r} is not a duration")
            severity = (rule.get("labels") or {}).get("severity")
            if severity not in SEVERITIES:
                problems.add(f"{where}: labels.severity is one of {sorted(SEVERITIES)}")
            annotations = rule.get("annotations") or {}
            for key in ("summary", "description"):
                if not annotations.get(key):
                    problems.add(f"{where}: no annotations.{key}")
            alerts[alert] = {"severity": severity, "for": rule.get("for"), "expr": rule["expr"]}
    if not alerts:
        problems.add(f"{path}: no alerts")
    if tests:
        check_alert_tests(alerts, tests, path, yaml, problems)
    return alerts, used


def check_alert_tests(alerts, tests, rules_path, yaml, problems):
    try:
        with open(tests, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        problems.add(f"{tests}: not a YAML file: {e}")
        return
    files = [os.path.normpath(os.path.join(os.path.dirname(tests), r)) for r in doc.get("rule_files", [])]
    if os.path.normpath(rules_path) not in files:
        problems.add(f"{tests}: rule_files does not name {rules_path}")
    fired = set()
    for case in doc.get("tests") or []:
        for check in case.get("alert_rule_test") or []:
            if check.get("exp_alerts"):
                fired.add(check.get("alertname"))
    for alert in alerts:
        if alert not in fired:
            problems.add(f"{tests}: no case expects {alert} to fire")


# --- Command line ----------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(
        description="Checks chatd's metrics against their catalogue (docs/operations.md, Monitoring).",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--docs", default=DEFAULT_DOCS, help="the catalogue [default: docs/operations.md]")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("catalogue")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("exposition")
    p.add_argument("file")
    p.add_argument("--format", choices=["auto", "text", "openmetrics"], default="auto")
    p.add_argument("--complete", action="store_true")
    p.add_argument("--cluster", action="store_true")
    p.add_argument("--per-room", action="store_true")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("dashboard")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("alerts")
    p.add_argument("file")
    p.add_argument("--tests")
    p.add_argument("--json", action="store_true")
    args = parser.parse_args()

    problems = Problems()
    metrics = load_catalogue(args.docs, problems)
    problems.exit_if_any()

    if args.command == "catalogue":
        if args.json:
            print(json.dumps(catalogue_json(metrics), indent=1, sort_keys=True))
        else:
            series = 0
            for m in metrics.values():
                n = 1
                for vals in m["values"].values():
                    n *= len(vals) if vals else 1
                series += n * (len(m["buckets"]) + 3 if m["buckets"] else 1)
            print(f"{len(metrics)} metrics, about {series} series with every label value")
    elif args.command == "exposition":
        try:
            with open(args.file, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            print(f"check-metrics: cannot read {args.file}: {e}", file=sys.stderr)
            sys.exit(2)
        samples = check_exposition(metrics, text, args.format, args, problems)
        problems.exit_if_any()
        if args.json:
            print(json.dumps({"samples": samples}))
        else:
            print(f"{args.file}: {len(samples)} samples, all catalogued")
    elif args.command == "dashboard":
        used = check_dashboard(metrics, args.file, problems)
        problems.exit_if_any()
        if args.json:
            print(json.dumps({"metrics": sorted(used)}))
        else:
            print(f"{args.file}: uses {len(used)} catalogued metrics")
    elif args.command == "alerts":
        alerts, used = check_alerts(metrics, args.file, args.tests, problems)
        problems.exit_if_any()
        if args.json:
            print(json.dumps({"alerts": alerts, "metrics": sorted(used)}))
        else:
            print(f"{args.file}: {len(alerts)} alerts over {len(used)} catalogued metrics")


if __name__ == "__main__":
    # A reader that went away (| head) is not an error.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
