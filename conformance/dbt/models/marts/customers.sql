with orders as (
    select
        customer_id,
        count(*) as order_count,
        sum(amount) as lifetime_value,
        min(order_date) as first_order,
        max(order_date) as last_order
    from {{ ref('stg_orders') }}
    where status <> 'returned'
    group by customer_id
)
select
    c.customer_id,
    c.customer_name,
    c.country,
    coalesce(o.order_count, 0) as order_count,
    coalesce(o.lifetime_value, 0) as lifetime_value,
    o.first_order,
    o.last_order
from {{ ref('stg_customers') }} c
left join orders o on o.customer_id = c.customer_id
