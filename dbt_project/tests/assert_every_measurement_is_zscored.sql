-- Every staged e-PPGBM row has its z-score row for the same batch in the incremental model; a missing
-- one would silently drop a measurement from int_measurements_deduplicated.
select
    staged.source_file,
    staged.source_row,
    staged.batch_id
from {{ ref('stg_eppgbm__measurements') }} as staged
left join {{ ref('int_measurements_zscored') }} as zscored
    on zscored.source_file = staged.source_file
    and zscored.source_row = staged.source_row
    and zscored.batch_id = staged.batch_id
where zscored.source_file is null
