//! Products: `GET api/v2/products` (`{id, name, description, created_at, updated_at}` a product,
//! paged like every list), decoded strictly: every item a product with a positive integer `id`
//! and a name, else the answer proves nothing. A ticket row's `product_id` given by name is
//! resolved against it. Pure; the client sends.

use super::answer::Decode;
use serde::Deserialize;
use std::num::NonZeroU64;

/// One of the account's products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: u64,
    pub name: String,
}

#[derive(Deserialize)]
struct ProductDto {
    id: NonZeroU64,
    name: String,
}

/// `GET products`: one page of products.
impl Decode for Vec<Product> {
    fn decode(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice::<Vec<ProductDto>>(body)
            .map(|v| v.into_iter().map(|p| Product { id: p.id.get(), name: p.name }).collect())
            .map_err(|e| format!("not a list of products ({e})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_decode_with_ids_and_names() {
        let body = br#"[{"id": 43000001, "name": "Acme Cloud", "description": null,
                        "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z"}]"#;
        let products = Vec::<Product>::decode(body).unwrap();
        assert_eq!(products, [Product { id: 43000001, name: "Acme Cloud".into() }]);
    }

    #[test]
    fn anything_but_a_list_of_named_products_proves_nothing() {
        for body in [
            &b"<html>Sign in</html>"[..],
            b"{\"products\": []}",
            b"[{\"id\": 0, \"name\": \"x\"}]",
            b"[{\"id\": 3}]",
        ] {
            assert!(Vec::<Product>::decode(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}
