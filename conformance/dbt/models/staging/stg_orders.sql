select
    id as order_id,
    customer_id,
    cast(ordered_at as date) as order_date,
    amount,
    status
from {{ ref('raw_orders') }}
