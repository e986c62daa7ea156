{#
    RESTRICTED (schema identity). Pseudonym → person, for field follow-up of children found stunted or
    wasted: one row per child_key with the NIK and the name, birth date, sex, parent, address and kelurahan
    of the child's latest row. The only model downstream of staging that reads personal columns.
#}

with identity_rows as (

    select * from {{ ref('stg_eppgbm__child_identities') }}

),

children as (

    select * from {{ ref('int_children_resolved') }}

),

rows_with_child_key as (

    select
        coalesce(identity_rows.child_nik_key, children.child_key_without_nik) as child_key,
        identity_rows.*
    from identity_rows
    inner join children
        on children.child_person_key = identity_rows.child_person_key

),

ranked as (

    select
        *,
        max(nik) over (partition by child_key) as child_nik,
        max(measured_on) over (partition by child_key) as last_measured_on,
        row_number() over (
            partition by child_key
            order by measured_on desc, batch_id desc, source_row desc, source_file desc
        ) as recency_rank
    from rows_with_child_key

),

child_identity as (

    select
        child_key,
        child_nik as nik,
        child_name,
        birth_date,
        sex,
        parent_name,
        address,
        kelurahan_name,
        last_measured_on
    from ranked
    where recency_rank = 1

)

select * from child_identity
