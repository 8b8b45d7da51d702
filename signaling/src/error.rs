//! Errors: start-up failures for embedders, and API errors that answer `{code, message}`.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot open the database {path}: {message}")]
    Database { path: String, message: String },
}
