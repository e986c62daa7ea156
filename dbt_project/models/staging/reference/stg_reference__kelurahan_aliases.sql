with aliases as (

    select * from {{ ref('ref_kelurahan_alias') }}

),

renamed as (

    select
        alias as alias_name,
        {{ normalise_kelurahan_name('alias') }} as alias_name_normalised,
        kelurahan_code,
        note
    from aliases

)

select * from renamed
