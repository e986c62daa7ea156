{#
    Every normalised name that identifies a kelurahan: its canonical name and its aliases (other
    spellings, pre-2014 kelurahan merged into it). One row per normalised name.
#}

with kelurahan as (

    select * from {{ ref('stg_reference__kelurahan') }}

),

aliases as (

    select * from {{ ref('stg_reference__kelurahan_aliases') }}

),

canonical_names as (

    select
        kelurahan_name_normalised as name_normalised,
        kelurahan_name as name,
        kelurahan_code,
        'canonical' as name_source
    from kelurahan

),

alias_names as (

    select
        aliases.alias_name_normalised as name_normalised,
        aliases.alias_name as name,
        aliases.kelurahan_code,
        'alias' as name_source
    from aliases
    where not exists (
        select 1
        from canonical_names
        where canonical_names.name_normalised = aliases.alias_name_normalised
    )

),

kelurahan_names as (

    select * from canonical_names
    union all
    select * from alias_names

)

select * from kelurahan_names
