CREATE SCHEMA fx;
CREATE TABLE fx.customers (id integer NOT NULL, name text, email varchar(200), created date);
CREATE TABLE fx.orders (id bigint NOT NULL, customer_id integer, amount numeric(10,2), placed timestamp, note text);
CREATE VIEW fx.big_orders AS SELECT id, amount FROM fx.orders WHERE amount > 100;
COMMENT ON TABLE fx.orders IS 'Orders placed by customers';
INSERT INTO fx.customers VALUES (1, 'Ada', 'ada@example.com', '2024-01-02'), (2, 'Bo', NULL, '2024-02-03');
INSERT INTO fx.orders VALUES (10, 1, 250.00, '2024-03-01 10:00:00', 'first'), (11, 2, 19.99, '2024-03-02 11:30:00', NULL);
