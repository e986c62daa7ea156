{#
    City-wide number of followed-up children missing interventions per agency (OPD), the kota rows of
    mart_missing_interventions_by_agency, for the public report and the dashboards: counts only, small cells
    suppressed (docs/privacy.md). No totals over agencies are published (a child can count for several), so
    only the primary rule applies: a count of 1–4 is hidden, and the stunted children also when the
    children at risk they leave (children_missing − stunted) are 1–4.
#}

with agencies as (

    select * from {{ ref('mart_missing_interventions_by_agency') }}
    where wilayah_level = 'kota'

)

select
    month::date as month,
    responsible_agency::text as responsible_agency,
    case when not {{ bi_small('children_missing') }} then children_missing end::integer as children_missing,
    case when not ({{ bi_small('stunted_children_missing') }}
                   or {{ bi_small('children_missing - stunted_children_missing') }})
        then stunted_children_missing end::integer as stunted_children_missing,
    case when not {{ bi_small('missing_interventions') }} then missing_interventions end::integer
        as missing_interventions
from agencies
