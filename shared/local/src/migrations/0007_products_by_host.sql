-- Products of one host in id order, for the admin products list (pattern 56).
ALTER TABLE products ADD COLUMN host TEXT;
UPDATE products SET host = json_extract(body, '$.host');
CREATE INDEX products_by_host ON products (host, id);
