"""Column-wise cleaning of e-PPGBM rows: decide what each cell means, note every correction.

Works on whole chunks with polars expressions (no Python loop per row). Each correction leaves a
code in `cleaning_notes`, and the original text of weight and height is kept, so every changed
value can be traced. Rows that cannot be used get a reason and go to quarantine instead.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from konvergensi.identity_numbers import plausible_nik_expression
from konvergensi.ingest.eppgbm_columns import ALL_FIELDS

DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
SENTINELS = (999.99, 999.9, 999.0, 9999.0)
GRAMS_ABOVE_KG = 200.0  # no child under five weighs 200 kg: such a weight was typed in grams
MM_ABOVE_CM = 250.0  # nor is 250 cm tall: such a height was typed in millimetres
EARLIEST_DATE = dt.date(1900, 1, 1)  # an earlier date is a typing error (year 1023 for 2023), not a child's

UNSIGNED = r"^\d+(\.\d+)?$"
SIGNED = r"^[-+]?\d+(\.\d+)?$"

RAW_COLUMNS = (
    "nik", "nik_raw", "nik_status", "child_name", "parent_name", "parent_nik", "kk_number", "phone",
    "address", "rt", "rw", "sex", "birth_date", "birth_weight_kg", "birth_length_cm", "province_name",
    "city_name", "kecamatan_name", "puskesmas_name", "kelurahan_name", "posyandu_name", "age_text",
    "measured_on", "measurement_month", "weight_kg", "height_cm", "position", "position_raw", "muac_cm",
    "eppgbm_waz_category", "eppgbm_waz", "eppgbm_haz_category", "eppgbm_haz", "eppgbm_whz_category",
    "eppgbm_whz", "weight_gain", "pmt_received_kg", "vit_a_count", "kpsp", "kia", "weight_raw",
    "height_raw", "cleaning_notes",
)  # fmt: skip


def _decimal_text(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(r"\s+", "").str.replace(",", ".")


def _number(column: str, pattern: str = UNSIGNED) -> pl.Expr:
    """The cell as a number when it is one (decimal comma accepted), else null."""
    text = _decimal_text(column)
    return pl.when(text.str.contains(pattern)).then(text.cast(pl.Float64, strict=False))


def _unparseable(column: str, pattern: str = UNSIGNED) -> pl.Expr:
    return pl.col(column).is_not_null() & ~_decimal_text(column).str.contains(pattern)


def _date(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.coalesce([text.str.to_date(fmt, strict=False) for fmt in DATE_FORMATS])


def _note(condition: pl.Expr, code: str) -> pl.Expr:
    return pl.when(condition).then(pl.lit(code))


def _nik_columns() -> list[pl.Expr]:
    text = pl.col("nik").str.replace_all(r"[\s'`]", "")
    whole = pl.when(text.str.contains(r"^\d{16}$")).then(text).when(text.str.contains(r"^\d{16}[.,]0+$")).then(
        text.str.slice(0, 16)
    )
    plausible = plausible_nik_expression(whole)
    status = (
        pl.when(pl.col("nik").is_null())
        .then(pl.lit("missing"))
        .when(text.str.contains(r"^\d+([.,]\d+)?[eE][+]?\d+$"))
        .then(pl.lit("scientific"))
        .when(whole.is_not_null() & plausible)
        .then(pl.lit("valid"))
        .otherwise(pl.lit("malformed"))
    )
    return [
        pl.when(status == "valid").then(whole).alias("nik"),
        pl.col("nik").alias("nik_raw"),
        status.alias("nik_status"),
    ]


def _sex() -> pl.Expr:
    text = pl.col("sex").str.strip_chars().str.to_uppercase()
    return (
        pl.when(text.is_in(["L", "LK", "LAKI-LAKI", "LAKI LAKI", "LAKI"]))
        .then(pl.lit("L"))
        .when(text.is_in(["P", "PR", "PEREMPUAN", "WANITA"]))
        .then(pl.lit("P"))
    )


def _position() -> pl.Expr:
    text = pl.col("position_raw").str.to_uppercase()
    return (
        pl.when(text.str.contains("TERLENTANG|TELENTANG|TLENTANG|BERBARING"))
        .then(pl.lit("lying"))
        .when(text.str.contains("BERDIRI"))
        .then(pl.lit("standing"))
    )


def _zscore(column: str) -> tuple[pl.Expr, pl.Expr]:
    value = _number(column, SIGNED)
    sentinel = value.abs().is_in(SENTINELS)
    return pl.when(~sentinel).then(value).alias(column), sentinel.fill_null(False)


def clean(chunk: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a chunk of text rows into (clean rows, quarantined rows).

    A date before 1900 is quarantined: it cannot be a child's. A measurement dated in the future is
    loaded: the gate's measured_on_not_in_future stops the whole night then, since such dates come
    in batches (a year typed wrong throughout an export) that must not publish half-loaded.

    Clean rows carry `source_row`, the RAW_COLUMNS and `person_material` (the text the fallback
    pseudonym is computed from). Quarantined rows carry `source_row`, `reason` and `record` (the
    original cells as JSON).
    """
    missing = [f for f in ALL_FIELDS if f not in chunk.columns]
    # Readers deliver stripped text with empty cells as null; lazy evaluation lets polars compute
    # each repeated sub-expression (the parsed weight, say) once and run the columns in parallel.
    frame = chunk.lazy().with_columns([pl.lit(None, dtype=pl.String).alias(f) for f in missing])

    weight = _number("weight")
    height = _number("height")
    waz, waz_sentinel = _zscore("eppgbm_waz")
    haz, haz_sentinel = _zscore("eppgbm_haz")
    whz, whz_sentinel = _zscore("eppgbm_whz")
    typed = frame.with_columns(
        *_nik_columns(),
        _sex().alias("sex_clean"),
        _date("birth_date").alias("birth_date_clean"),
        _date("measured_on").alias("measured_on_clean"),
        weight.alias("weight_parsed"),
        height.alias("height_parsed"),
        _unparseable("weight").alias("weight_unparseable"),
        _unparseable("height").alias("height_unparseable"),
        (pl.col("weight").str.contains(",") | pl.col("height").str.contains(",")).fill_null(False).alias("had_comma"),
        _number("birth_weight").alias("birth_weight_kg"),
        _number("birth_length").alias("birth_length_cm"),
        _number("muac").alias("muac_cm"),
        _number("pmt_received").alias("pmt_received_kg"),
        _position().alias("position"),
        waz,
        haz,
        whz,
        (waz_sentinel | haz_sentinel | whz_sentinel).alias("zscore_sentinel"),
    )

    weight_sentinel = pl.col("weight_parsed").is_in(SENTINELS).fill_null(False)
    height_sentinel = pl.col("height_parsed").is_in(SENTINELS).fill_null(False)
    typed = typed.with_columns(
        weight_sentinel.alias("weight_sentinel"),
        height_sentinel.alias("height_sentinel"),
        pl.when(~weight_sentinel).then(pl.col("weight_parsed")).alias("weight_parsed"),
        pl.when(~height_sentinel).then(pl.col("height_parsed")).alias("height_parsed"),
    )
    grams = (pl.col("weight_parsed") > GRAMS_ABOVE_KG).fill_null(False)
    millimetres = (pl.col("height_parsed") > MM_ABOVE_CM).fill_null(False)
    typed = typed.with_columns(
        grams.alias("weight_grams"),
        millimetres.alias("height_mm"),
        pl.when(grams).then(pl.col("weight_parsed") / 1000).otherwise(pl.col("weight_parsed")).alias("weight_unit"),
        pl.when(millimetres).then(pl.col("height_parsed") / 10).otherwise(pl.col("height_parsed")).alias("height_unit"),
    )
    swapped = (pl.col("weight_unit") > pl.col("height_unit")).fill_null(False)
    typed = typed.with_columns(
        swapped.alias("swapped"),
        pl.when(swapped).then(pl.col("height_unit")).otherwise(pl.col("weight_unit")).alias("weight_kg"),
        pl.when(swapped).then(pl.col("weight_unit")).otherwise(pl.col("height_unit")).alias("height_cm"),
    )

    notes = pl.concat_str(
        [
            _note(pl.col("had_comma"), "decimal_comma"),
            _note(pl.col("weight_grams"), "weight_grams"),
            _note(pl.col("height_mm"), "height_mm"),
            _note(pl.col("weight_sentinel"), "weight_sentinel"),
            _note(pl.col("height_sentinel"), "height_sentinel"),
            _note(pl.col("swapped"), "swapped_weight_height"),
            _note(pl.col("weight_unparseable"), "weight_unparseable"),
            _note(pl.col("height_unparseable"), "height_unparseable"),
            _note(pl.col("zscore_sentinel"), "zscore_sentinel"),
        ],
        separator=",",
        ignore_nulls=True,
    )
    reasons = pl.concat_str(
        [
            _note(pl.col("measured_on_clean").is_null(), "missing or invalid measurement date (Tanggal Pengukuran)"),
            _note(pl.col("birth_date_clean").is_null(), "missing or invalid birth date (Tgl Lahir)"),
            _note(pl.col("sex_clean").is_null(), "missing or invalid sex (JK)"),
            _note(pl.col("birth_date_clean") > pl.col("measured_on_clean"), "birth date after measurement date"),
            _note((pl.col("birth_date_clean") < pl.lit(EARLIEST_DATE)) | (pl.col("measured_on_clean") < pl.lit(EARLIEST_DATE)),
                  "date before 1900 (Tgl Lahir or Tanggal Pengukuran)"),
            _note(pl.col("weight_kg").is_null() & pl.col("height_cm").is_null(), "no usable weight or height"),
            _note((pl.col("weight_kg") > GRAMS_ABOVE_KG) | (pl.col("height_cm") > MM_ABOVE_CM),
                  "impossible weight or height even after unit corrections (above 200 kg or 250 cm)"),
            _note(pl.col("nik").is_null() & pl.col("child_name").is_null(), "neither NIK nor name"),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    typed = typed.with_columns(notes.replace("", None).alias("cleaning_notes"), reasons.alias("reason")).collect()

    quarantine_mask = pl.col("reason") != ""
    quarantined = typed.filter(quarantine_mask).select(
        "source_row",
        "reason",
        pl.struct(
            [pl.col(f).alias(f) for f in ALL_FIELDS if f in chunk.columns] or [pl.lit(None).alias("empty")]
        ).struct.json_encode().alias("record"),
    )

    person_name = pl.col("child_name").str.to_uppercase().str.replace_all(r"[^A-Z]+", " ").str.strip_chars()
    kept = typed.filter(~quarantine_mask).select(
        "source_row",
        "nik",
        "nik_raw",
        "nik_status",
        "child_name",
        "parent_name",
        "parent_nik",
        "kk_number",
        "phone",
        "address",
        "rt",
        "rw",
        pl.col("sex_clean").alias("sex"),
        pl.col("birth_date_clean").alias("birth_date"),
        "birth_weight_kg",
        "birth_length_cm",
        "province_name",
        "city_name",
        "kecamatan_name",
        "puskesmas_name",
        "kelurahan_name",
        "posyandu_name",
        "age_text",
        pl.col("measured_on_clean").alias("measured_on"),
        "measurement_month",
        "weight_kg",
        "height_cm",
        "position",
        "position_raw",
        "muac_cm",
        "eppgbm_waz_category",
        "eppgbm_waz",
        "eppgbm_haz_category",
        "eppgbm_haz",
        "eppgbm_whz_category",
        "eppgbm_whz",
        "weight_gain",
        "pmt_received_kg",
        "vit_a_count",
        "kpsp",
        "kia",
        pl.col("weight").alias("weight_raw"),
        pl.col("height").alias("height_raw"),
        "cleaning_notes",
        pl.concat_str(
            [pl.lit("person:"), person_name, pl.lit("|"), pl.col("birth_date_clean").cast(pl.String), pl.lit("|"), pl.col("sex_clean")]
        ).alias("person_material"),
    )
    return kept, quarantined
