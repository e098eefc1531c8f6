//! `/products`: create, fetch and list products.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use http_plumbing::ErrorBody;
use http_plumbing::pagination::PageParams;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{NewProduct, PriceCents, ProductId, ProductName, Stock};
use crate::errors::ApiError;
use crate::store::Store;
use crate::store::products::ProductRow;

/// A product as the API shows it. Money is integer cents: `4999` is 49.99.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": 101, "name": "Wireless Keyboard", "price_cents": 4999, "stock": 150,
    "created_at": "2026-11-26T12:00:00Z"}))]
pub struct Product {
    /// The product's id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Unit price in integer cents (minor units); never a float.
    #[schema(minimum = 0)]
    pub price_cents: i64,
    /// Units available to reserve.
    #[schema(minimum = 0)]
    pub stock: i32,
    /// When the product was created (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            price_cents: row.price_cents,
            stock: row.stock,
            created_at: row.created_at,
        }
    }
}

/// A product to create.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Laptop Sleeve", "price_cents": 1999, "stock": 40}))]
pub struct CreateProduct {
    /// Display name: 1 to 200 characters after trimming.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Unit price in integer cents, 0 to 100000000.
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub price_cents: i64,
    /// Initial stock, 0 to 1000000000.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub stock: i64,
}

/// One page of products.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductPage {
    /// The products on this page, by ascending id.
    pub items: Vec<Product>,
    /// The page size used.
    pub limit: i64,
    /// How many products were skipped.
    pub offset: i64,
    /// How many products exist in all.
    pub total: i64,
}

/// Create a product.
#[utoipa::path(
    tag = "products",
    request_body = CreateProduct,
    responses(
        (status = 201, description = "Created; `Location` names the new product", body = Product),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing field, wrong type, or a value out of range", body = ErrorBody,
            example = json!({"code": "invalid_input", "message": "stock must be between 0 and 1000000000, got -1"})),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[post("/products")]
pub async fn create_product(
    store: web::Data<Store>,
    body: web::Json<CreateProduct>,
) -> Result<HttpResponse, ApiError> {
    let product = NewProduct {
        name: ProductName::parse(&body.name).map_err(ApiError::Invalid)?,
        price: PriceCents::parse(body.price_cents).map_err(ApiError::Invalid)?,
        stock: Stock::parse(body.stock).map_err(ApiError::Invalid)?,
    };
    let row = store.insert_product(&product).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/products/{}", row.id)))
        .json(Product::from(row)))
}

/// Get a product by id, with its current stock.
#[utoipa::path(
    tag = "products",
    params(("id" = i64, Path, description = "The product's id", minimum = 1, example = 101)),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 400, description = "The id is not a positive 64-bit integer", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody,
            example = json!({"code": "product_not_found", "message": "product 999 does not exist"})),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[get("/products/{id}")]
pub async fn get_product(
    store: web::Data<Store>,
    id: web::Path<i64>,
) -> Result<web::Json<Product>, ApiError> {
    let id = ProductId::parse(id.into_inner()).map_err(ApiError::BadRequest)?;
    let row = store
        .fetch_product(id)
        .await?
        .ok_or(ApiError::ProductNotFound(id.get()))?;
    Ok(web::Json(row.into()))
}

/// List products by id.
#[utoipa::path(
    tag = "products",
    params(PageParams),
    responses(
        (status = 200, description = "A page of products", body = ProductPage),
        (status = 400, description = "limit or offset out of range", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[get("/products")]
pub async fn list_products(
    store: web::Data<Store>,
    params: web::Query<PageParams>,
) -> Result<web::Json<ProductPage>, ApiError> {
    let page = params.into_inner().parse().map_err(ApiError::BadRequest)?;
    let (rows, total) = store.list_products(page).await?;
    Ok(web::Json(ProductPage {
        items: rows.into_iter().map(Product::from).collect(),
        limit: page.limit,
        offset: page.offset,
        total,
    }))
}
