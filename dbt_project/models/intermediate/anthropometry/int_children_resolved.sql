{#
    One row per child_person_key (pseudonym of name + birth date + sex): the child key that rows of this
    person WITHOUT a valid NIK take. A row with a NIK always uses its own child_nik_key; a row without one
    borrows the NIK key seen on other rows of the same person when exactly one distinct NIK key was seen,
    and otherwise keeps the person key.
#}

with measurements as (

    select
        child_person_key,
        child_nik_key
    from {{ ref('stg_eppgbm__measurements') }}

),

nik_keys_per_person as (

    select
        child_person_key,
        count(distinct child_nik_key) as distinct_nik_keys,
        min(child_nik_key) as lowest_nik_key
    from measurements
    group by child_person_key

),

resolved as (

    select
        child_person_key,
        distinct_nik_keys,
        case
            when distinct_nik_keys = 1 then lowest_nik_key
            else child_person_key
        end as child_key_without_nik,
        case
            when distinct_nik_keys = 1 then 'nik'
            else 'name_birthdate_sex'
        end as identity_method_without_nik
    from nik_keys_per_person

)

select * from resolved
