{#
    RESTRICTED to-do list per agency: one row per followed-up child (case_followup_children) and
    missing intervention (int_case_followup_tasks), with the child's name, parent, address and wilayah
    so that each agency (OPD) can sort by kelurahan and act.
#}

with tasks as (

    select * from {{ ref('int_case_followup_tasks') }}

),

children as (

    select * from {{ ref('case_followup_children') }}

)

select
    children.month::date as month,
    tasks.child_key::text as child_key,
    tasks.task_code::text as task_code,
    tasks.task_source::text as task_source,
    tasks.intervention_name::text as intervention_name,
    tasks.intervention_type::text as intervention_type,
    tasks.responsible_agency::text as responsible_agency,
    tasks.due_since::date as due_since,
    tasks.last_received_on::date as last_received_on,
    children.case_category::text as case_category,
    children.kecamatan_name::text as kecamatan_name,
    children.kelurahan_code::text as kelurahan_code,
    children.kelurahan_name::text as kelurahan_name,
    children.posyandu_name::text as posyandu_name,
    children.puskesmas_key::text as puskesmas_key,
    children.child_name::text as child_name,
    children.nik::text as nik,
    children.birth_date::date as birth_date,
    children.parent_name::text as parent_name,
    children.address::text as address
from tasks
inner join children
    on children.child_key = tasks.child_key
