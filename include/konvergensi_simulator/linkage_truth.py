"""The true family of every simulated record, and a score of a warehouse's linkage against it.

:class:`LinkageTruthWriter` writes, next to the simulated sources (never inside the landing
directory), one CSV per record kind naming the household (and the child or pregnancy) each record
really belongs to:

=====================  ==========================================================================
file                   columns
=====================  ==========================================================================
``households.csv``     household, id_rt (empty when not in the DTSEN register at ``as_of``), kk, mother_nik
``children.csv``       child_nik, household
``eppgbm_rows.csv``    source_file, source_row (as a spreadsheet shows it, header = 1), child_nik
``bkkbn_rows.csv``     source_file, source_row, household
``pregnancies.csv``    pregnancy_id, household
``pupr.csv``           record_source (pupr_survey / pupr_project), record_id, household
``services.csv``       service_id, household, child_nik (children's services), pregnancy_id (women's)
=====================  ==========================================================================

A household's key in the warehouse is the pseudonym of ``dtsen:<id_rt>`` when DTSEN holds it, else
the pseudonym of its KK (``kk:<kk>``, a family outside DTSEN is its own household).

:func:`score_linkage` reads a warehouse built by dbt (``int_household_links`` and its candidates,
``int_services_attributed``) and counts, per source and per link method, the links made, the links
that are right, the ambiguous and unlinked records, and the records that have a true match (their
true household, child or pregnancy exists in the warehouse). It is test and benchmark tooling: the
production package never reads the truth.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import psycopg

from konvergensi_simulator.households import Household
from konvergensi_simulator.population import Child

FILES = ("households", "children", "eppgbm_rows", "bkkbn_rows", "pregnancies", "pupr", "services")
SOURCES = ("eppgbm_children", "eppgbm_mothers", "pregnancies", "bkkbn", "pupr_surveys", "pupr_projects",
           "services_children", "services_women", "dtsen")  # fmt: skip
PRECISION_TARGET = 0.99
RECALL_TARGET = 0.95


def refuse_inside(directory: Path, landing: Path) -> None:
    """Raise ``ValueError`` when ``directory`` is the landing directory or inside it."""
    target, landing = directory.resolve(), landing.resolve()
    if target == landing or landing in target.parents:
        raise ValueError(f"linkage truth {target} must not be inside the landing directory {landing}")


def registered_at(household: Household, as_of: dt.datetime) -> bool:
    """Whether the DTSEN register written for ``as_of`` holds the household (it has an update by then)."""
    if household.id_rt is None:
        return False
    wib = dt.timezone(dt.timedelta(hours=7))
    return any(
        dt.datetime.combine(dt.date.fromordinal(v.day), dt.time(), wib) + dt.timedelta(seconds=v.seconds) <= as_of
        for v in household.dtsen_versions
    )


class LinkageTruthWriter:
    """Streams ``services.csv`` while the services are generated; ``finish`` writes the rest."""

    def __init__(self, directory: str | Path, landing: str | Path, households: list[Household]) -> None:
        self.directory = Path(directory)
        refuse_inside(self.directory, Path(landing))
        self.directory.mkdir(parents=True, exist_ok=True)
        self._households = households
        self._index = {id(h): number for number, h in enumerate(households, start=1)}
        self._services_handle: TextIO = (self.directory / "services.csv").open("w", newline="", encoding="utf-8")
        self._services = csv.writer(self._services_handle)
        self._services.writerow(("service_id", "household", "child_nik", "pregnancy_id"))

    def household(self, h: Household) -> int:
        return self._index[id(h)]

    def service(self, service_id: str, h: Household, child_nik: str | None, pregnancy_id: str | None) -> None:
        self._services.writerow((service_id, self._index[id(h)], child_nik or "", pregnancy_id or ""))

    def finish(
        self, as_of: dt.datetime, eppgbm_rows: dict[str, list[Child]], bkkbn_rows: dict[str, list[Household]],
        pregnancies: Iterable[tuple[str, Household]],
    ) -> None:
        self._services_handle.close()
        index = self._index
        self._write("households", ("household", "id_rt", "kk", "mother_nik"), (
            (index[id(h)], h.id_rt if registered_at(h, as_of) else "", h.family.kk, h.mother_nik)
            for h in self._households
        ))  # fmt: skip
        self._write("children", ("child_nik", "household"), (
            (child.nik, index[id(h)]) for h in self._households for child in h.children
        ))  # fmt: skip
        self._write("eppgbm_rows", ("source_file", "source_row", "child_nik"), (
            (name, number, child.nik) for name, children in eppgbm_rows.items()
            for number, child in enumerate(children, start=2)
        ))  # fmt: skip
        self._write("bkkbn_rows", ("source_file", "source_row", "household"), (
            (name, number, index[id(h)]) for name, behind in bkkbn_rows.items()
            for number, h in enumerate(behind, start=2)
        ))  # fmt: skip
        self._write("pregnancies", ("pregnancy_id", "household"), ((p, index[id(h)]) for p, h in pregnancies))
        self._write("pupr", ("record_source", "record_id", "household"), [
            *(("pupr_survey", survey, index[id(h)]) for h in self._households for survey in h.survey_ids),
            *(("pupr_project", project, index[id(h)]) for h in self._households for project in h.project_ids),
        ])  # fmt: skip

    def abandon(self) -> None:
        self._services_handle.close()

    def _write(self, name: str, header: tuple[str, ...], rows: Iterable[tuple]) -> None:
        with (self.directory / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)


# --- scoring ---------------------------------------------------------------------------------------

TRUTH_TABLES = {
    "households": "household integer, id_rt text, kk text, mother_nik text",
    "children": "child_nik text, household integer",
    "eppgbm_rows": "source_file text, source_row integer, child_nik text",
    "bkkbn_rows": "source_file text, source_row integer, household integer",
    "pregnancies": "pregnancy_id text, household integer",
    "pupr": "record_source text, record_id text, household integer",
    "services": "service_id text, household integer, child_nik text, pregnancy_id text",
}

# One row per scored record: source, method (the strongest method that found a candidate; the
# outcome's method for services), outcome (a method, 'ambiguous' or 'unlinked'), whether the link
# made is right, and whether the record has a true match in the warehouse.
OUTCOMES_SQL = """
create temporary table truth_child_keys as
with rows as (
    select coalesce(m.child_nik_key, r.child_key_without_nik) as child_key, t.child_nik
    from staging.stg_eppgbm__measurements as m
    inner join intermediate.int_children_resolved as r on r.child_person_key = m.child_person_key
    inner join truth_eppgbm_rows as t on t.source_file = m.source_file and t.source_row = m.source_row
),
modal as (
    select distinct on (child_key) child_key, child_nik
    from (select child_key, child_nik, count(*) as n from rows group by child_key, child_nik) as counted
    order by child_key, n desc, child_nik
)
select child_key, child_nik, true as in_eppgbm from modal
union all
select c.child_nik_key, c.child_nik, false from truth_children as c
where not exists (select 1 from modal where modal.child_key = c.child_nik_key);

create index on truth_child_keys (child_key);
create index on truth_child_keys (child_nik);
analyze truth_child_keys;

create temporary table truth_records as
select 'eppgbm_child'::text as record_source, k.child_key as record_id, h.household_key as true_key
from truth_child_keys as k
inner join truth_children as c on c.child_nik = k.child_nik
inner join truth_households as h on h.household = c.household
where k.in_eppgbm
union all
select 'pregnancy', p.pregnancy_id, h.household_key
from truth_pregnancies as p inner join truth_households as h on h.household = p.household
union all
select 'bkkbn', f.family_record_key, h.household_key
from staging.stg_bkkbn__families as f
inner join truth_bkkbn_rows as t on t.source_file = f.source_file and t.source_row = f.source_row
inner join truth_households as h on h.household = t.household
union all
select p.record_source, p.record_id, h.household_key
from truth_pupr as p inner join truth_households as h on h.household = p.household;

create index on truth_records (record_source, record_id);
analyze truth_records;

create temporary table known_households as
select household_key from staging.stg_dtsen__households
union
select household_key from intermediate.int_household_links where household_key is not null;
analyze known_households;

create temporary table known_women as
select nik_key from staging.stg_dtsen__members where nik_key is not null
union select mother_nik_key from staging.stg_services__pregnancies where mother_nik_key is not null
union select wife_nik_key from staging.stg_bkkbn__families where wife_nik_key is not null
union select mother_nik_key from staging.stg_services__services where mother_nik_key is not null
union select nik_key from staging.stg_services__services where nik_key is not null and not is_child_service;
analyze known_women;

create temporary table scored as
with eppgbm_children as (
    select distinct child_nik from truth_child_keys where in_eppgbm
),
best as (
    select record_source, record_id, min(link_method) as method
    from (
        select record_source, record_id, link_method,
            method_rank = min(method_rank) over (partition by record_source, record_id) as is_best
        from intermediate.int_household_link_candidates
        where link_method is not null
    ) as ranked
    where is_best
    group by record_source, record_id
),
household_sources as (
    select
        case l.record_source
            when 'eppgbm_child' then 'eppgbm_children' when 'pregnancy' then 'pregnancies'
            when 'pupr_survey' then 'pupr_surveys' when 'pupr_project' then 'pupr_projects'
            else l.record_source
        end as source,
        coalesce(best.method, '(none)') as method,
        l.link_method as outcome,
        l.household_key is not null and l.household_key = t.true_key as is_right,
        t.true_key is not null as has_truth,
        known.household_key is not null as has_true_match
    from intermediate.int_household_links as l
    left join best on best.record_source = l.record_source and best.record_id = l.record_id
    left join truth_records as t on t.record_source = l.record_source and t.record_id = l.record_id
    left join known_households as known on known.household_key = t.true_key
),
services_children as (
    select
        'services_children' as source,
        case s.child_link_method
            when 'ambiguous' then 'name_birthdate_kelurahan' when 'unlinked' then '(none)'
            else s.child_link_method
        end as method,
        s.child_link_method as outcome,
        coalesce(linked.child_nik = t.child_nik, false) as is_right,
        t.child_nik is not null as has_truth,
        s.child_link_method = 'nik' or known.child_nik is not null as has_true_match
    from intermediate.int_services_attributed as s
    left join truth_services as t on t.service_id = s.service_id
    left join truth_child_keys as linked on linked.child_key = s.child_key
    left join eppgbm_children as known on known.child_nik = t.child_nik
    where s.is_child_service
),
services_women as (
    select
        'services_women' as source,
        case {pregnancy_link_method}
            when 'ambiguous' then 'name_birthdate_kelurahan' when 'unlinked' then '(none)'
            else {pregnancy_link_method}
        end as method,
        {pregnancy_link_method} as outcome,
        coalesce(p.pregnancy_id = t.pregnancy_id, false) as is_right,
        t.pregnancy_id is not null as has_truth,
        exists (select 1 from staging.stg_services__pregnancies as sp where sp.pregnancy_id = t.pregnancy_id)
            as has_true_match
    from intermediate.int_services_attributed as s
    left join truth_services as t on t.service_id = s.service_id
    left join intermediate.int_pregnancies_linked as p on p.pregnancy_key = s.pregnancy_key
    where not s.is_child_service
),
eppgbm_mothers as (
    select
        'eppgbm_mothers' as source,
        case {mother_link_method}
            when 'ambiguous' then 'household_woman' when 'unlinked' then '(none)' else {mother_link_method}
        end as method,
        {mother_link_method} as outcome,
        coalesce(c.mother_key = h.mother_key, false) as is_right,
        h.mother_key is not null as has_truth,
        known.nik_key is not null as has_true_match
    from intermediate.int_child_households_linked as c
    left join truth_child_keys as k on k.child_key = c.child_key and k.in_eppgbm
    left join truth_children as tc on tc.child_nik = k.child_nik
    left join truth_households as h on h.household = tc.household
    left join known_women as known on known.nik_key = h.mother_key
),
target_links as (
    select l.household_key, bool_or(l.household_key = t.true_key) as any_right
    from intermediate.int_household_links as l
    left join truth_records as t on t.record_source = l.record_source and t.record_id = l.record_id
    where l.record_source in ('eppgbm_child', 'pregnancy') and l.household_key is not null
    group by l.household_key
),
true_targets as (
    select distinct t.true_key
    from truth_records as t
    inner join intermediate.int_household_links as l
        on l.record_source = t.record_source and l.record_id = t.record_id
    where t.record_source in ('eppgbm_child', 'pregnancy')
),
dtsen as (
    select
        'dtsen' as source,
        'target_linked' as method,
        case when target_links.household_key is not null then 'target_linked' else 'unlinked' end as outcome,
        coalesce(target_links.any_right, false) as is_right,
        true as has_truth,
        true_targets.true_key is not null as has_true_match
    from staging.stg_dtsen__households as d
    left join target_links on target_links.household_key = d.household_key
    left join true_targets on true_targets.true_key = d.household_key
)
select * from household_sources
union all select * from services_children
union all select * from services_women
union all select * from {eppgbm_mothers}
union all select * from dtsen;
"""

COUNTS_SQL = """
select
    source,
    coalesce(method, '') as method,
    count(*)::integer as records,
    count(*) filter (where outcome not in ('ambiguous', 'unlinked'))::integer as links,
    count(*) filter (where outcome not in ('ambiguous', 'unlinked') and is_right)::integer as right_links,
    count(*) filter (where outcome = 'ambiguous')::integer as ambiguous,
    count(*) filter (where outcome = 'unlinked')::integer as unlinked,
    count(*) filter (where has_true_match)::integer as with_true_match,
    count(*) filter (where not has_truth)::integer as without_truth
from scored
group by grouping sets ((source), (source, method))
order by source, method nulls first
"""

ALIGNMENT_SQL = """
select
    count(*) filter (where t.child_nik is null) as rows_without_truth,
    count(*) filter (where m.nik is not null and m.nik_status = 'valid' and m.nik <> t.child_nik) as nik_disagreeing
from raw.eppgbm_measurements as m
left join truth_eppgbm_rows as t on t.source_file = m.source_file and t.source_row = m.source_row
"""


@dataclass
class LinkageScore:
    """Counts of one source (``method`` empty) or of one method within it."""

    source: str
    method: str
    records: int
    links: int
    right_links: int
    ambiguous: int
    unlinked: int
    with_true_match: int  # the source's records whose true household / child / pregnancy is in the warehouse
    without_truth: int

    @property
    def precision(self) -> float | None:
        return self.right_links / self.links if self.links else None

    def recall(self, with_true_match: int) -> float | None:
        """Right links / the source's records that have a true match (for a method: its share of them)."""
        return self.right_links / with_true_match if with_true_match else None

    def ambiguous_share(self, records: int) -> float | None:
        return self.ambiguous / records if records else None


def _copy_truth(connection: psycopg.Connection, directory: Path, pseudonym) -> None:
    for name, columns in TRUTH_TABLES.items():
        connection.execute(f"create temporary table truth_{name} ({columns})")
        with (directory / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            with connection.cursor().copy(f"copy truth_{name} from stdin with (format csv, header true)") as copy:
                while block := handle.read(1 << 20):
                    copy.write(block)
    connection.execute(
        "create temporary table truth_households_keyed (household integer, household_key text, mother_key text)")
    households = connection.execute("select household, id_rt, kk, mother_nik from truth_households").fetchall()
    with connection.cursor().copy("copy truth_households_keyed from stdin") as copy:
        for household, id_rt, kk, mother_nik in households:
            copy.write_row((household, pseudonym("dtsen:" + id_rt) if id_rt else pseudonym("kk:" + kk),
                            pseudonym("nik:" + mother_nik)))
    connection.execute("alter table truth_children add column child_nik_key text")
    niks = connection.execute("select distinct child_nik from truth_children").fetchall()
    connection.execute("create temporary table truth_child_nik_keys (child_nik text, child_nik_key text)")
    with connection.cursor().copy("copy truth_child_nik_keys from stdin") as copy:
        for (nik,) in niks:
            copy.write_row((nik, pseudonym("nik:" + nik)))
    connection.execute("""
        update truth_children as c set child_nik_key = k.child_nik_key
        from truth_child_nik_keys as k where k.child_nik = c.child_nik;
        drop table truth_households;
        alter table truth_households_keyed rename to truth_households;
        create index on truth_eppgbm_rows (source_file, source_row);
        create index on truth_bkkbn_rows (source_file, source_row);
        create index on truth_services (service_id);
        create index on truth_children (child_nik);
        analyze truth_eppgbm_rows; analyze truth_bkkbn_rows; analyze truth_services; analyze truth_children;
    """)


def score_linkage(url: str, directory: str | Path, key: bytes) -> tuple[list[LinkageScore], dict[str, int]]:
    """Score the linkage of the warehouse at ``url`` against the truth in ``directory``.

    ``key`` is the warehouse's pseudonym key. Returns the scores (per source, then per method) and
    alignment counts (e-PPGBM rows without a truth row, rows whose valid NIK disagrees with it:
    both must be 0, or the truth does not describe the loaded files).
    """
    from konvergensi.pseudonyms import Pseudonymiser

    pseudonyms = Pseudonymiser(key)
    with psycopg.connect(url) as connection:
        _copy_truth(connection, Path(directory), pseudonyms.one)
        has_method = connection.execute(
            "select 1 from information_schema.columns where table_schema = 'intermediate'"
            " and table_name = 'int_services_attributed' and column_name = 'pregnancy_link_method'"
        ).fetchone()
        # warehouses built before women's services had their own method column: NIK + window only
        method = "s.pregnancy_link_method" if has_method else (
            "(case when s.pregnancy_key is not null then 'pregnancy_window' else 'unlinked' end)")
        has_mothers = connection.execute(
            "select 1 from information_schema.columns where table_schema = 'intermediate'"
            " and table_name = 'int_child_households_linked' and column_name = 'mother_link_method'"
        ).fetchone()
        # warehouses built before children's mothers had their own method column are not scored on them
        connection.execute(
            OUTCOMES_SQL.replace("{pregnancy_link_method}", method)
            .replace("{mother_link_method}", "c.mother_link_method" if has_mothers else "null::text")
            .replace("{eppgbm_mothers}", "eppgbm_mothers" if has_mothers else "eppgbm_mothers where false")
        )
        alignment = dict(zip(("rows_without_truth", "nik_disagreeing"), connection.execute(ALIGNMENT_SQL).fetchone()))
        scores = [LinkageScore(*row) for row in connection.execute(COUNTS_SQL).fetchall()]
        connection.rollback()
    order = {source: i for i, source in enumerate(SOURCES)}
    scores.sort(key=lambda s: (order.get(s.source, len(order)), s.method != "", s.method))
    return scores, alignment


def totals(scores: list[LinkageScore]) -> dict[str, LinkageScore]:
    return {s.source: s for s in scores if not s.method}


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{100 * value:.2f}%"


def score_table(scores: list[LinkageScore]) -> tuple[list[str], list[tuple]]:
    """Headers and rows for a printed table: each source, then its methods indented below it."""
    source_totals = totals(scores)
    rows = []
    for s in scores:
        total = source_totals[s.source]
        rows.append((
            s.source if not s.method else f"  {s.method}", s.records, s.links, s.right_links, s.links - s.right_links,
            s.ambiguous, s.unlinked, s.with_true_match if not s.method else None, _percent(s.precision),
            _percent(s.recall(total.with_true_match)), _percent(s.ambiguous_share(total.records)),
        ))  # fmt: skip
    headers = ["source / method", "records", "links", "right", "wrong", "ambiguous", "unlinked", "true match",
               "precision", "recall", "ambiguous %"]  # fmt: skip
    return headers, rows


def shortfalls(scores: list[LinkageScore]) -> list[str]:
    """The sources below the precision or recall target, one sentence each."""
    said = []
    for s in totals(scores).values():
        if s.precision is not None and s.precision < PRECISION_TARGET:
            said.append(f"{s.source}: precision {100 * s.precision:.2f}% < {100 * PRECISION_TARGET:.0f}%")
        recall = s.recall(s.with_true_match)
        if recall is not None and recall < RECALL_TARGET:
            said.append(f"{s.source}: recall {100 * recall:.2f}% < {100 * RECALL_TARGET:.0f}%")
    return said
