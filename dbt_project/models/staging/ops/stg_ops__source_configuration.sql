{#
    Every source the warehouse knows, and whether this deployment has it. The night's load task of
    each source records its answer in ops.source_configuration; a source without such a row (loaded
    by hand, or before the setting existed) counts as configured when it has any load attempt.
    e-PPGBM is always configured: the health marts are built from it.
#}

with known_sources (source, position, source_label) as (

    values
        ('eppgbm', 1, 'e-PPGBM'),
        ('bkkbn', 2, 'BKKBN Pendataan Keluarga'),
        ('services', 3, 'layanan ibu dan anak'),
        ('pregnancies', 4, 'register ibu hamil'),
        ('dtsen', 5, 'DTSEN'),
        ('pupr_surveys', 6, 'survei rumah tangga DPUPR'),
        ('pupr_projects', 7, 'proyek DPUPR')

),

recorded as (

    select * from {{ source('ops', 'source_configuration') }}

),

attempted as (

    select distinct source from {{ source('ops', 'file_loads') }}
    union
    select distinct source from {{ source('ops', 'source_extracts') }}

)

select
    known_sources.source::text as source,
    known_sources.position::integer as source_position,
    known_sources.source_label::text as source_label,
    (known_sources.source = 'eppgbm'
        or coalesce(recorded.is_configured, attempted.source is not null)) as is_configured,
    case
        when known_sources.source = 'eppgbm' then 'always'
        when recorded.source is not null then recorded.configured_by
        when attempted.source is not null then 'loads found'
    end::text as configured_by
from known_sources
left join recorded on recorded.source = known_sources.source
left join attempted on attempted.source = known_sources.source
