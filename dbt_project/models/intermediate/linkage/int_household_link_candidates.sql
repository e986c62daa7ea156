{#
    Every way a record of a source can reach a household, one row per (record, candidate household,
    method). Exact keys first (NIK key of a resident DTSEN member, KK key of a DTSEN household), then
    the fallbacks found in identity_family_link_candidates (plain KK/NIK of e-PPGBM translated to keys,
    name + birth date + kelurahan, address + RT/RW + kelurahan), and last 'own_kk': a family outside
    DTSEN is its own household keyed by its KK key. int_household_links picks among them.
#}

with dtsen_households as (

    select household_key, kk_key, kelurahan_code from {{ ref('stg_dtsen__households') }}

),

dtsen_people as (

    select members.nik_key, households.household_key
    from {{ ref('stg_dtsen__members') }} as members
    inner join {{ ref('stg_dtsen__households') }} as households
        on households.household_id = members.household_id
    where members.nik_key is not null and members.is_resident

),

fallbacks as (

    select * from {{ ref('identity_family_link_candidates') }}

),

kelurahan_names as (

    select name_normalised, kelurahan_code from {{ ref('int_kelurahan_names') }}

),

children as (

    select
        child_key,
        max(child_nik_key) as child_nik_key,
        (array_agg(kelurahan_name order by measured_on desc, batch_id desc, source_row desc))[1]
            as kelurahan_name
    from (
        select
            coalesce(measurements.child_nik_key, resolved.child_key_without_nik) as child_key,
            measurements.child_nik_key,
            measurements.kelurahan_name,
            measurements.measured_on,
            measurements.batch_id,
            measurements.source_row
        from {{ ref('stg_eppgbm__measurements') }} as measurements
        inner join {{ ref('int_children_resolved') }} as resolved
            on resolved.child_person_key = measurements.child_person_key
    ) as keyed
    group by child_key

),

pregnancies as (

    select * from {{ ref('stg_services__pregnancies') }}

),

bkkbn as (

    select * from {{ ref('stg_bkkbn__families') }}

),

surveys as (

    select * from {{ ref('stg_pupr__household_surveys') }}

),

projects as (

    select * from {{ ref('stg_pupr__projects') }}

),

records as (

    select 'eppgbm_child' as record_source, child_key as record_id, kelurahan_name, null::text as kelurahan_code,
        child_nik_key as nik_key, null::text as kk_key
    from children
    union all
    select 'pregnancy', pregnancy_id, kelurahan_name, null, mother_nik_key, kk_key from pregnancies
    union all
    select 'bkkbn', family_record_key, kelurahan_name, kelurahan_code, wife_nik_key, kk_key from bkkbn
    union all
    select 'pupr_survey', survey_id, kelurahan_name, null, null, kk_key from surveys
    union all
    select 'pupr_project', project_id, kelurahan_name, null, null, kk_key from projects

),

records_located as (

    select
        records.record_source,
        records.record_id,
        records.nik_key,
        records.kk_key,
        coalesce(
            kelurahan_by_code.kelurahan_code, kelurahan_names.kelurahan_code, 'UNKNOWN'
        ) as kelurahan_code
    from records
    left join {{ ref('stg_reference__kelurahan') }} as kelurahan_by_code
        on kelurahan_by_code.kelurahan_code = records.kelurahan_code
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('records.kelurahan_name') }}

),

by_nik as (

    select records_located.record_source, records_located.record_id, dtsen_people.household_key,
        case records_located.record_source when 'bkkbn' then 'wife_nik' else 'nik' end as link_method
    from records_located
    inner join dtsen_people on dtsen_people.nik_key = records_located.nik_key

),

by_kk as (

    select records_located.record_source, records_located.record_id, dtsen_households.household_key,
        'kk' as link_method
    from records_located
    inner join dtsen_households on dtsen_households.kk_key = records_located.kk_key

),

by_translated_kk as (

    select fallbacks.record_source, fallbacks.record_id,
        coalesce(dtsen_households.household_key, fallbacks.target_key) as household_key,
        fallbacks.link_method
    from fallbacks
    left join dtsen_households on dtsen_households.kk_key = fallbacks.target_key
    where fallbacks.target_kind = 'kk'

),

by_mother_nik as (

    select fallbacks.record_source, fallbacks.record_id, dtsen_people.household_key, fallbacks.link_method
    from fallbacks
    inner join dtsen_people on dtsen_people.nik_key = fallbacks.target_key
    where fallbacks.target_kind = 'mother'

),

by_personal_text as (

    select record_source, record_id, target_key as household_key, link_method
    from fallbacks
    where target_kind = 'household'

),

by_own_kk as (

    select record_source, record_id, kk_key as household_key, 'own_kk' as link_method
    from records_located
    where kk_key is not null and record_source in ('pregnancy', 'bkkbn', 'pupr_survey', 'pupr_project')

),

candidates as (

    select * from by_nik
    union
    select * from by_kk
    union
    select * from by_translated_kk
    union
    select * from by_mother_nik
    union
    select * from by_personal_text
    union
    select * from by_own_kk

),

candidates_located as (

    select
        records_located.record_source,
        records_located.record_id,
        records_located.kelurahan_code,
        candidates.household_key,
        candidates.link_method,
        {{ link_method_rank('candidates.link_method') }} as method_rank
    from records_located
    left join candidates
        on candidates.record_source = records_located.record_source
        and candidates.record_id = records_located.record_id

)

select * from candidates_located
