{#
    PUPR household surveys without kk_number, kk_raw, head_name, address, rt, rw and the coordinates
    (a household's point is as identifying as its address). Ladder values are trimmed and matched
    case-insensitively to the documented spellings; anything else becomes 'unknown'.
#}

with source_rows as (

    select * from {{ source('pupr', 'pupr_household_surveys') }}

),

renamed as (

    select
        survey_id,
        kk_key,
        kelurahan_name,
        {{ normalise_kelurahan_name('kelurahan_name') }} as kelurahan_name_normalised,
        surveyed_on,
        case lower(btrim(sanitation_access))
            when 'aman' then 'aman'
            when 'layak sendiri' then 'layak sendiri'
            when 'layak bersama' then 'layak bersama'
            when 'belum layak' then 'belum layak'
            when 'babs' then 'BABS'
            else 'unknown'
        end as sanitation_ladder,
        case lower(btrim(water_access))
            when 'aman' then 'aman'
            when 'layak dasar' then 'layak dasar'
            when 'layak terbatas' then 'layak terbatas'
            when 'tidak layak' then 'tidak layak'
            when 'tidak tersedia' then 'tidak tersedia'
            else 'unknown'
        end as water_ladder,
        is_uninhabitable,
        floor_area_m2,
        occupants,
        updated_at

    from source_rows

)

select * from renamed
