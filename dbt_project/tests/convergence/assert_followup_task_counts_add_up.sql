-- Every followed-up child's missing_interventions_count equals its rows in case_followup_tasks.
with task_counts as (

    select child_key, count(*) as tasks
    from {{ ref('case_followup_tasks') }}
    group by child_key

)

select
    children.child_key,
    children.missing_interventions_count,
    coalesce(task_counts.tasks, 0) as tasks
from {{ ref('case_followup_children') }} as children
left join task_counts
    on task_counts.child_key = children.child_key
where children.missing_interventions_count <> coalesce(task_counts.tasks, 0)
