"""The documented semantics as data: (query, expected ids) over ``zoo_experiments()``.

Checked against the reference evaluator (test_evaluate) and against SQL (test_search_sql).
"""

from __future__ import annotations

NOW_OFFSET_DAYS = 3  # queries are evaluated at 2026-01-04T00:00:00Z

FILTERS: list[tuple[str, set[str]]] = [
    # typed params: a number literal compares value_num, a string literal compares the text
    ("params.lr < 0.01", {"e1", "e2", "e3"}),
    ("params.lr = 0.001", {"e1", "e2", "e3"}),
    ("params.lr = '0.001'", {"e1", "e2"}),
    ("params.lr = '1e-3'", {"e3"}),
    ("params.lr != 0.001", set()),  # "fast" has no number: not comparable, no match
    ("params.lr != 'fast'", {"e1", "e2", "e3"}),
    ("params.lr > 'a'", {"e4"}),  # text order: digits sort before letters
    ("params.bs >= 32", {"e1", "e2"}),
    ("params.bs in (16, 64)", {"e2", "e3"}),
    ("params.bs not in (16, 64)", {"e1"}),
    ("params.bs in ('64', 16)", {"e2", "e3"}),
    ("params.bs not in ('64', 16)", {"e1"}),  # == bs != '64' and bs != 16
    # booleans: true/false only match bool params; numbers see them as 1/0
    ("params.flag = true", {"e1"}),
    ("params.flag != true", {"e3"}),
    ("params.flag = 'true'", {"e1", "e2"}),
    ("params.flag = 1", {"e1"}),
    ("params.cfg = '{\"a\":1}'", {"e1"}),
    # missing keys never match a comparison; not (...) does
    ("params.bs != 32", {"e2", "e3"}),
    ("not params.bs = 32", {"e2", "e3", "e4"}),
    ("params.bs is null", {"e4"}),
    ("params.bs is not null", {"e1", "e2", "e3"}),
    # metrics: NaN (e2's last acc, all of e2's loss) never compares, but the key exists
    ("metrics.acc > 0.9", {"e1", "e3"}),
    ("metrics.acc != 0.91", {"e3"}),
    ("metrics.acc < 100", {"e1", "e3"}),
    ("not metrics.acc > 0.9", {"e2", "e4"}),
    ("metrics.acc is not null", {"e1", "e2", "e3"}),
    ("metrics.loss is null", {"e3", "e4"}),
    ("metrics.acc.max >= 0.7", {"e1", "e2", "e3"}),
    ("metrics.loss.min < 0.25", {"e1"}),
    ("metrics.loss.max < 10", {"e1"}),
    ("metrics.loss.count = 1", {"e2"}),
    ("metrics.loss.count > 1.5", {"e1"}),
    ("metrics.loss.last = 0.3", {"e1"}),
    # tags and like / ilike (ASCII-only case folding)
    ("tags.team = 'vision'", {"e1"}),
    ("tags.team ilike 'VISION'", {"e1", "e2"}),
    ("tags.team like 'V%'", {"e2"}),
    ("tags.team not like 'V%'", {"e1", "e3"}),
    ("tags.note ilike 'école'", {"e4"}),  # É is not ASCII: not folded
    ("tags.note like '_COLE'", {"e3"}),
    ("name like 'resnet%'", {"e1"}),
    ("name ilike 'resnet%'", {"e1", "e2"}),
    (r"name like '%50\%'", {"e3"}),
    ("name like '%50%'", {"e1", "e3"}),
    ("name like 'école\\_%'", {"e3"}),
    ("name like 'école%'", {"e3"}),
    ("params.opt like 'a%'", {"e1", "e4"}),
    ("params.opt ilike 'a%'", {"e1", "e3", "e4"}),
    ("params.lr like '0.0%'", {"e1", "e2"}),
    # attributes
    ("status = 'FINISHED'", {"e1"}),
    ("status in ('Running', 'KILLED')", {"e2", "e4"}),
    ("status like 'F%'", {"e1", "e3"}),
    ("owner = 'Émile'", {"e4"}),
    ("project = 'nlp' and owner = 'alice'", {"e3"}),
    ("project != 'nlp'", {"e1", "e2"}),
    ("group = 'g1'", {"e1"}),
    ("group != 'g1'", {"e3"}),
    ("not group = 'g1'", {"e2", "e3", "e4"}),
    ("group is null", {"e2", "e4"}),
    ("git.commit like 'abc%' and git.branch = 'main'", {"e1"}),
    ("git.commit is null", {"e2", "e3", "e4"}),
    ("id in ('E1', 'e3')", {"e1", "e3"}),
    ("id like 'e%'", {"e1", "e2", "e3", "e4"}),
    ("name is null", set()),
    ("name is not null", {"e1", "e2", "e3", "e4"}),
    # times (epoch seconds, dates are UTC) and durations
    ("created >= '2026-01-02'", {"e2", "e3"}),
    ("created < '2026-01-01T00:00:01Z'", {"e1", "e4"}),
    ("created > now - 2d", {"e3"}),
    ("created >= now - 3d", {"e1", "e2", "e3"}),
    ("created = 1767225600", {"e1"}),
    ("attributes.created = 1767225600000", {"e1"}),
    ("ended is null", {"e2", "e4"}),
    ("started < '2026-01-02'", {"e1", "e2"}),
    ("duration > 1h", {"e3"}),
    ("duration <= 60", {"e1"}),
    ("duration is null", {"e2", "e4"}),
    # logic
    ("tags.team = 'nlp' or params.opt = 'sgd'", {"e2", "e3"}),
    ("(tags.team = 'nlp' or params.opt = 'sgd') and status = 'failed'", {"e3"}),
    ("not (tags.team = 'nlp' or params.opt = 'sgd')", {"e1", "e4"}),
    ("", {"e1", "e2", "e3", "e4"}),
]


ORDERS: list[tuple[str, list[str]]] = [
    ("order by created", ["e4", "e1", "e2", "e3"]),
    ("order by created desc", ["e3", "e2", "e1", "e4"]),
    # missing and NaN values sort last in both directions
    ("order by metrics.acc desc", ["e3", "e1", "e4", "e2"]),
    ("order by metrics.acc", ["e1", "e3", "e4", "e2"]),
    ("order by ended desc", ["e3", "e1", "e4", "e2"]),
    # params: numeric values first (by number, then text), then text, then missing
    ("order by params.lr", ["e2", "e1", "e3", "e4"]),
    ("order by params.lr desc", ["e3", "e2", "e1", "e4"]),
    ("order by params.bs desc", ["e2", "e1", "e3", "e4"]),
    # text sorts by code point: upper case before lower case before accented letters
    ("order by name", ["e2", "e1", "e4", "e3"]),
    ("order by tags.team", ["e2", "e3", "e1", "e4"]),
    ("order by project, status desc", ["e4", "e3", "e2", "e1"]),
    # ties are broken by the integer key, newest (largest) first
    ("order by owner", ["e3", "e1", "e2", "e4"]),
    ("", ["e4", "e3", "e2", "e1"]),
    ("order by status limit 2", ["e3", "e1"]),
]
