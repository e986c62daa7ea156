{#
    The 19 indicators of the Kemendes village convergence scorecard (Tingkat Konvergensi) in the
    wording of the scorecard form (seed ref_scorecard_indicators), with the service code that answers
    them (null for the household indicators, answered from welfare and public-works data, and for the
    weighings and lengths of e-PPGBM) and the agency (OPD) that acts on a T.

    data_sources lists the sources whose records can answer the indicator (docs/scorecard.md, "Sources
    and no data"); has_data says whether this deployment has at least one of them, and for the pregnant
    women's indicators also the pregnancy register that makes the targets. Without it the indicator has
    no data: the scorecard shows it as such, never as zero coverage.
#}

with configuration as (

    select * from {{ ref('stg_ops__source_configuration') }}

),

indicators as (

    select * from {{ ref('ref_scorecard_indicators') }}

),

data_sources as (

    select indicators.indicator_code, sources.source
    from indicators
    cross join lateral unnest(string_to_array(indicators.data_sources, ' ')) as sources (source)

),

service_evidence as (

    select indicator_code, intervention_code
    from {{ ref('int_scorecard_indicator_interventions') }}
    where source_system = 'services'

),

targets_from (target_group, source) as (

    values ('ibu_hamil', 'pregnancies'), ('anak_0_23', 'eppgbm'), ('anak_2_6', 'eppgbm')

),

answered as (

    select
        data_sources.indicator_code,
        string_agg(data_sources.source, ', ' order by configuration.source_position) as data_sources,
        bool_or(configuration.is_configured) as any_source_configured
    from data_sources
    inner join configuration on configuration.source = data_sources.source
    group by data_sources.indicator_code

)

select
    indicators.indicator_code::text as indicator_code,
    indicators.target_group::text as target_group,
    indicators.indicator_number::integer as indicator_number,
    indicators.indicator_name::text as indicator_name,
    service_evidence.intervention_code::text as intervention_code,
    indicators.responsible_agency::text as responsible_agency,
    indicators.intervention_type::text as intervention_type,
    answered.data_sources::text as data_sources,
    (answered.any_source_configured and target_configuration.is_configured)::boolean as has_data
from indicators
inner join answered on answered.indicator_code = indicators.indicator_code
left join service_evidence on service_evidence.indicator_code = indicators.indicator_code
inner join targets_from on targets_from.target_group = indicators.target_group
inner join configuration as target_configuration on target_configuration.source = targets_from.source
