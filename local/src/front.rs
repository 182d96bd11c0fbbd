//! The one port: routes each request to the admin API, Lambda, the AWS Backup stand-in or
//! moto.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::json;

use crate::backup;
use crate::config::Config;
use crate::proxy::{bad_gateway, Upstream};
use crate::web::{self, Reply};
use crate::{admin, lambda, sigv4};

/// The region of a Backup request whose credential scope names none.
const DEFAULT_REGION: &str = "us-east-1";

pub struct Front {
    moto: Upstream,
    lambda: Upstream,
    backup: Arc<backup::Service>,
}

impl Front {
    pub fn new(config: &Config) -> std::io::Result<Self> {
        Ok(Front {
            moto: Upstream::new(&config.moto)?,
            lambda: Upstream::new(&config.lambda)?,
            backup: backup::Service::new(config)?,
        })
    }

    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Reply, Infallible> {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                return Ok(web::json(
                    StatusCode::BAD_REQUEST,
                    &json!({"message": format!("the request body could not be read: {e}")}),
                ))
            }
        };
        let path = parts.uri.path();
        let query = parts.uri.query();
        let reply = if let Some(rest) = path.strip_prefix("/_local/") {
            admin::handle(&self.backup, &parts.method, rest, &body)
        } else if let Some(binary) = lambda::invoked_binary(&parts.method, path) {
            tracing::debug!(binary, "lambda invoke");
            lambda::invoke(&self.lambda, &binary, parts.headers.clone(), body).await
        } else if let Some(scope) = sigv4::credential_scope(&parts.headers, query)
            .filter(|s| s.service == backup::SIGNING_NAME)
        {
            let region = if scope.region.is_empty() {
                DEFAULT_REGION
            } else {
                &scope.region
            };
            self.backup
                .handle(region, &parts.method, path, query, &body)
        } else {
            let path_and_query = parts
                .uri
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_owned();
            match self
                .moto
                .send(
                    parts.method.clone(),
                    &path_and_query,
                    parts.headers.clone(),
                    body,
                    true,
                )
                .await
            {
                Ok(answer) => answer.into_reply(),
                Err(e) => bad_gateway(&format!("moto at {}: {}", self.moto.base(), e.message)),
            }
        };
        tracing::debug!(method = %parts.method, uri = %parts.uri, status = %reply.status(), "served");
        Ok(reply)
    }
}
