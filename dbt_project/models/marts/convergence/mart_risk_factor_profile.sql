{#
    Risk-factor profile of stunted and not-stunted children under five in the latest month, per wilayah
    (kelurahan incl. UNKNOWN, kecamatan, kota) and risk factor. Children: fct_child_monthly rows of the
    latest month whose latest HAZ is valid (is_stunted not null). A factor is known for a child when its
    linked household (int_households_resolved) — or, for health insurance, the child's own JKN
    (int_persons_insured: own DTSEN record or a JKN service) — states it; an unknown factor leaves the child out of that factor's totals and lowers the
    coverage, it is never counted as "without".
    prevalence_ratio = stunting prevalence among children with the factor ÷ among children without it.
#}

with latest_month as (

    select max(month_start) as month
    from {{ ref('int_convergence_periods') }}

),

children as (

    select
        child_monthly.month,
        child_monthly.child_key,
        child_monthly.household_key,
        child_monthly.kelurahan_code,
        child_monthly.is_stunted
    from {{ ref('fct_child_monthly') }} as child_monthly
    inner join latest_month
        on latest_month.month = child_monthly.month
    where child_monthly.is_stunted is not null

),

households as (

    select * from {{ ref('int_households_resolved') }}

),

person_insurance as (

    -- the child's own JKN (int_persons_insured): own DTSEN record or a JKN service by the cut-off
    select
        insured.person_key as nik_key,
        case
            when insured.has_dtsen_jkn or insured.first_jkn_service_on <= latest_period.cutoff_date then true
            when not insured.has_dtsen_jkn then false
        end as has_jkn
    from {{ ref('int_persons_insured') }} as insured
    cross join (
        select max(cutoff_date) as cutoff_date from {{ ref('int_convergence_periods') }}
    ) as latest_period

),

wilayah as (

    select * from {{ ref('dim_wilayah') }}

),

factors (factor_code, factor_number, factor_label) as (

    values
        ('AIR_TIDAK_LAYAK', 1, 'Sumber air minum tidak layak'),
        ('JAMBAN_TIDAK_LAYAK', 2, 'Tidak memiliki jamban layak'),
        ('RTLH', 3, 'Rumah tidak layak huni (RTLH)'),
        ('LANTAI_TANAH', 4, 'Lantai rumah tanah'),
        ('DESIL_1_4', 5, 'Keluarga desil 1-4'),
        ('TANPA_JKN', 6, 'Anak tidak memiliki JKN'),
        ('DESIL_1_4_TANPA_BANSOS', 7, 'Keluarga desil 1-4 tanpa PKH/Sembako'),
        ('KRS', 8, 'Keluarga berisiko stunting (KRS)'),
        ('KRS_AIR', 9, 'KRS: sumber air minum tidak layak'),
        ('KRS_JAMBAN', 10, 'KRS: jamban tidak layak'),
        ('KRS_TERLALU_MUDA', 11, 'KRS: ibu terlalu muda (< 20 tahun)'),
        ('KRS_TERLALU_TUA', 12, 'KRS: ibu terlalu tua (≥ 35 tahun)'),
        ('KRS_TERLALU_DEKAT', 13, 'KRS: jarak kelahiran terlalu dekat (< 2 tahun)'),
        ('KRS_TERLALU_BANYAK', 14, 'KRS: anak terlalu banyak (> 3 anak)'),
        ('AYAH_PEKERJA_LEPAS', 15, 'Ayah pekerja lepas/tidak tetap')

),

child_factors as (

    select
        coalesce(wilayah.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        children.is_stunted,
        factor.factor_code,
        factor.has_factor
    from children
    left join households
        on households.household_key = children.household_key
    left join person_insurance
        on person_insurance.nik_key = children.child_key
    left join wilayah
        on wilayah.kelurahan_code = children.kelurahan_code
    cross join lateral (
        values
            ('AIR_TIDAK_LAYAK', not households.has_improved_water),
            ('JAMBAN_TIDAK_LAYAK', not households.has_proper_latrine),
            ('RTLH', households.is_uninhabitable),
            ('LANTAI_TANAH', households.has_earth_floor),
            ('DESIL_1_4', households.is_desil_1_4),
            ('TANPA_JKN', not person_insurance.has_jkn),
            ('DESIL_1_4_TANPA_BANSOS', households.is_desil_1_4
                and not (coalesce(households.receives_pkh, false) or coalesce(households.receives_sembako, false))),
            ('KRS', households.krs_at_risk),
            ('KRS_AIR', households.krs_water),
            ('KRS_JAMBAN', households.krs_latrine),
            ('KRS_TERLALU_MUDA', households.krs_too_young),
            ('KRS_TERLALU_TUA', households.krs_too_old),
            ('KRS_TERLALU_DEKAT', households.krs_too_close),
            ('KRS_TERLALU_BANYAK', households.krs_too_many),
            ('AYAH_PEKERJA_LEPAS', households.father_employment_status_code in (6, 7))
    ) as factor (factor_code, has_factor)

),

kelurahan_counts as (

    select
        kelurahan_code,
        factor_code,
        count(*) as children_assessed,
        count(*) filter (where is_stunted and has_factor) as stunted_with,
        count(*) filter (where is_stunted and has_factor is not null) as stunted_total,
        count(*) filter (where not is_stunted and has_factor) as not_stunted_with,
        count(*) filter (where not is_stunted and has_factor is not null) as not_stunted_total
    from child_factors
    group by kelurahan_code, factor_code

),

kelurahan_rows as (

    select
        wilayah.kelurahan_code,
        wilayah.kelurahan_name,
        wilayah.kecamatan_code,
        wilayah.kecamatan_name,
        wilayah.city_code,
        wilayah.city_name,
        factors.factor_code,
        factors.factor_number,
        factors.factor_label,
        coalesce(kelurahan_counts.children_assessed, 0) as children_assessed,
        coalesce(kelurahan_counts.stunted_with, 0) as stunted_with,
        coalesce(kelurahan_counts.stunted_total, 0) as stunted_total,
        coalesce(kelurahan_counts.not_stunted_with, 0) as not_stunted_with,
        coalesce(kelurahan_counts.not_stunted_total, 0) as not_stunted_total
    from wilayah
    cross join factors
    left join kelurahan_counts
        on kelurahan_counts.kelurahan_code = wilayah.kelurahan_code
        and kelurahan_counts.factor_code = factors.factor_code

),

all_levels as (

    select
        'kelurahan' as wilayah_level, kelurahan_code as wilayah_code, kelurahan_name as wilayah_name,
        kecamatan_code, factor_code, factor_number, factor_label,
        children_assessed, stunted_with, stunted_total, not_stunted_with, not_stunted_total
    from kelurahan_rows
    union all
    select
        'kecamatan', kecamatan_code, min(kecamatan_name), kecamatan_code, factor_code, factor_number, factor_label,
        sum(children_assessed), sum(stunted_with), sum(stunted_total), sum(not_stunted_with), sum(not_stunted_total)
    from kelurahan_rows
    group by kecamatan_code, factor_code, factor_number, factor_label
    union all
    select
        {{ city_level() }}, city_code, min(city_name), null, factor_code, factor_number, factor_label,
        sum(children_assessed), sum(stunted_with), sum(stunted_total), sum(not_stunted_with), sum(not_stunted_total)
    from kelurahan_rows
    group by city_code, factor_code, factor_number, factor_label

)

select
    latest_month.month::date as month,
    all_levels.wilayah_level::text as wilayah_level,
    all_levels.wilayah_code::text as wilayah_code,
    all_levels.wilayah_name::text as wilayah_name,
    all_levels.kecamatan_code::text as kecamatan_code,
    all_levels.factor_code::text as factor_code,
    all_levels.factor_number::integer as factor_number,
    all_levels.factor_label::text as factor_label,
    all_levels.stunted_with::integer as stunted_with,
    all_levels.stunted_total::integer as stunted_total,
    all_levels.not_stunted_with::integer as not_stunted_with,
    all_levels.not_stunted_total::integer as not_stunted_total,
    round(100.0 * all_levels.stunted_with / nullif(all_levels.stunted_total, 0), 2)::numeric(5,2)
        as stunted_with_pct,
    round(100.0 * all_levels.not_stunted_with / nullif(all_levels.not_stunted_total, 0), 2)::numeric(5,2)
        as not_stunted_with_pct,
    round(
        (all_levels.stunted_with::numeric / nullif(all_levels.stunted_with + all_levels.not_stunted_with, 0))
        / nullif(
            (all_levels.stunted_total - all_levels.stunted_with)::numeric
            / nullif(all_levels.stunted_total - all_levels.stunted_with
                + all_levels.not_stunted_total - all_levels.not_stunted_with, 0),
            0
        ),
        2
    )::numeric(8,2) as prevalence_ratio,
    all_levels.children_assessed::integer as children_assessed,
    (all_levels.stunted_total + all_levels.not_stunted_total)::integer as children_factor_known,
    round(
        100.0 * (all_levels.stunted_total + all_levels.not_stunted_total) / nullif(all_levels.children_assessed, 0),
        2
    )::numeric(5,2) as factor_coverage_pct
from all_levels
cross join latest_month
where latest_month.month is not null
