//! The local catalogue: products synced from providers, searched without
//! calling upstream per request.

use async_trait::async_trait;
use simgate_domain::entities::RepositoryError;
use simgate_domain::repository::CatalogueRepository;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use simgate_domain::{CountryCode, Currency, DataAllowance, Money, Product, ProductId, ProviderId};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row};

use crate::{ProductFilter, ProductSort, Store, StoreError, from_millis, millis};

/// Rows per multi-row INSERT: well under both back-ends' parameter limits.
const INSERT_CHUNK: usize = 200;

#[async_trait]
impl CatalogueRepository for Store {
    async fn replace_catalogue(
        &self,
        provider: ProviderId,
        products: &[Product],
        synced_at: DateTime<Utc>,
    ) -> Result<usize, RepositoryError> {
        let mut seen = HashSet::new();
        let products: Vec<&Product> = products
            .iter()
            .filter(|p| seen.insert(p.id.to_string()))
            .collect();
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        sqlx::query("UPDATE products SET active = 0 WHERE provider = $1")
            .bind(provider.as_str())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        sqlx::query(
            "DELETE FROM product_countries WHERE product_id IN (SELECT id FROM products WHERE provider = $1)",
        )
        .bind(provider.as_str())
        .execute(&mut *tx)
        .await.map_err(StoreError::from)?;
        let at = millis(synced_at);
        for chunk in products.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO products (id, provider, sku, name, data_mb, validity_days, price_micros, currency, countries, active, synced_at) VALUES {} \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, data_mb = excluded.data_mb, \
                 validity_days = excluded.validity_days, price_micros = excluded.price_micros, \
                 currency = excluded.currency, countries = excluded.countries, active = 1, synced_at = excluded.synced_at",
                placeholders(chunk.len(), 11)
            );
            let mut query = sqlx::query::<Any>(AssertSqlSafe(sql));
            for p in chunk {
                let micros = p.price.to_micros().map_err(StoreError::corrupt)?;
                query = query
                    .bind(p.id.to_string())
                    .bind(provider.as_str())
                    .bind(p.id.sku.clone())
                    .bind(p.name.clone())
                    .bind(p.data.mb().map(|mb| mb as i64))
                    .bind(i64::from(p.validity_days))
                    .bind(micros)
                    .bind(p.price.currency.code())
                    .bind(join_countries(&p.countries))
                    .bind(1_i64)
                    .bind(at);
            }
            query.execute(&mut *tx).await.map_err(StoreError::from)?;
        }
        let links: Vec<(String, &str)> = products
            .iter()
            .flat_map(|p| {
                let mut countries: Vec<&str> = p
                    .countries
                    .iter()
                    .map(simgate_domain::CountryCode::as_str)
                    .collect();
                countries.sort_unstable();
                countries.dedup();
                let id = p.id.to_string();
                countries.into_iter().map(move |c| (id.clone(), c))
            })
            .collect();
        for chunk in links.chunks(INSERT_CHUNK * 2) {
            let sql = format!(
                "INSERT INTO product_countries (product_id, country) VALUES {} ON CONFLICT DO NOTHING",
                placeholders(chunk.len(), 2)
            );
            let mut query = sqlx::query::<Any>(AssertSqlSafe(sql));
            for (id, country) in chunk {
                query = query.bind(id.clone()).bind(*country);
            }
            query.execute(&mut *tx).await.map_err(StoreError::from)?;
        }
        sqlx::query(
            "INSERT INTO catalogue_syncs (provider, synced_at, products) VALUES ($1, $2, $3) \
             ON CONFLICT (provider) DO UPDATE SET synced_at = excluded.synced_at, products = excluded.products",
        )
        .bind(provider.as_str())
        .bind(at)
        .bind(products.len() as i64)
        .execute(&mut *tx)
        .await.map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(products.len())
    }

    async fn last_catalogue_sync(
        &self,
        provider: ProviderId,
    ) -> Result<Option<(DateTime<Utc>, u64)>, RepositoryError> {
        let row =
            sqlx::query("SELECT synced_at, products FROM catalogue_syncs WHERE provider = $1")
                .bind(provider.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::from)?;
        row.map(|r| {
            Ok((
                from_millis(r.try_get("synced_at").map_err(StoreError::from)?),
                r.try_get::<i64, _>("products").map_err(StoreError::from)? as u64,
            ))
        })
        .transpose()
    }

    async fn search_products(
        &self,
        filter: &ProductFilter,
    ) -> Result<(Vec<Product>, u64), RepositoryError> {
        let mut clauses = vec!["p.active = 1".to_owned()];
        let mut params: Vec<Param> = Vec::new();
        let mut add = |template: &str, param: Param| {
            params.push(param);
            clauses.push(template.replace('?', &format!("${}", params.len())));
        };
        if let Some(provider) = filter.provider {
            add("p.provider = ?", Param::Text(provider.as_str().to_owned()));
        }
        if let Some(country) = filter.country {
            // IN (…) lets the planner start from the country index: a country
            // has dozens of products, the catalogue thousands.
            add(
                "p.id IN (SELECT c.product_id FROM product_countries c WHERE c.country = ?)",
                Param::Text(country.as_str().to_owned()),
            );
        }
        if let Some(currency) = filter.currency {
            add("p.currency = ?", Param::Text(currency.code().to_owned()));
        }
        if let Some(min) = filter.min_data_mb {
            add(
                "(p.data_mb IS NULL OR p.data_mb >= ?)",
                Param::Int(i64::try_from(min).unwrap_or(i64::MAX)),
            );
        }
        if let Some(max) = filter.max_price_micros {
            add("p.price_micros <= ?", Param::Int(max));
        }
        let where_sql = clauses.join(" AND ");
        let order = match filter.sort {
            ProductSort::PriceAsc => "p.price_micros ASC, p.id ASC",
            ProductSort::PriceDesc => "p.price_micros DESC, p.id ASC",
            ProductSort::DataDesc => {
                "CASE WHEN p.data_mb IS NULL THEN 1 ELSE 0 END DESC, p.data_mb DESC, p.price_micros ASC, p.id ASC"
            }
            ProductSort::ValidityDesc => "p.validity_days DESC, p.price_micros ASC, p.id ASC",
        };
        let count_sql = format!("SELECT COUNT(*) AS n FROM products p WHERE {where_sql}");
        let total: i64 = bind(&count_sql, &params)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)?
            .try_get("n")
            .map_err(StoreError::from)?;
        let page_sql = format!(
            "SELECT p.* FROM products p WHERE {where_sql} ORDER BY {order} LIMIT {} OFFSET {}",
            filter.limit, filter.offset
        );
        // Row by row: the index's full read would otherwise hold every
        // stored row beside the products made of them.
        let mut rows = bind(&page_sql, &params).fetch(&self.pool);
        let mut products = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
            products.push(product_from_row(&row)?);
        }
        Ok((products, total as u64))
    }

    async fn catalogue_version(
        &self,
    ) -> Result<Vec<(ProviderId, DateTime<Utc>, u64)>, RepositoryError> {
        let rows = sqlx::query(
            "SELECT provider, synced_at, products FROM catalogue_syncs ORDER BY provider",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        rows.iter()
            .map(|r| {
                let provider: String = r.try_get("provider").map_err(StoreError::from)?;
                let provider = provider
                    .parse::<ProviderId>()
                    .map_err(StoreError::corrupt)?;
                Ok((
                    provider,
                    from_millis(r.try_get("synced_at").map_err(StoreError::from)?),
                    r.try_get::<i64, _>("products").map_err(StoreError::from)? as u64,
                ))
            })
            .collect()
    }

    async fn product(&self, id: &ProductId) -> Result<Option<Product>, RepositoryError> {
        let row = sqlx::query("SELECT * FROM products WHERE id = $1 AND active = 1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(row.as_ref().map(product_from_row).transpose()?)
    }
}

/// A search parameter, bound in the order it was added.
enum Param {
    Text(String),
    Int(i64),
}

fn bind<'q>(sql: &str, params: &[Param]) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    params.iter().fold(
        sqlx::query::<Any>(AssertSqlSafe(sql.to_owned())),
        |query, param| match param {
            Param::Text(text) => query.bind(text.clone()),
            Param::Int(n) => query.bind(*n),
        },
    )
}

/// `($1, $2), ($3, $4), …` for `rows` rows of `columns` values.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn join_countries(countries: &[CountryCode]) -> String {
    countries
        .iter()
        .map(simgate_domain::CountryCode::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

fn product_from_row(row: &AnyRow) -> Result<Product, StoreError> {
    let id: String = row.try_get("id")?;
    let id = ProductId::parse(&id).map_err(StoreError::corrupt)?;
    let data = match row.try_get::<Option<i64>, _>("data_mb")? {
        Some(mb) => DataAllowance::Limited { mb: mb as u64 },
        None => DataAllowance::Unlimited,
    };
    let currency: String = row.try_get("currency")?;
    let currency = Currency::parse(&currency).map_err(StoreError::corrupt)?;
    let countries: String = row.try_get("countries")?;
    let countries = countries
        .split(',')
        .filter(|c| !c.is_empty())
        .map(CountryCode::parse)
        .collect::<Result<_, _>>()
        .map_err(StoreError::corrupt)?;
    Ok(Product {
        id,
        name: row.try_get("name")?,
        countries,
        data,
        validity_days: row.try_get::<i64, _>("validity_days")? as u32,
        price: Money::from_micros(row.try_get("price_micros")?, currency),
    })
}
