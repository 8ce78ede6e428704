//! What operators see of the router: its metrics (`metrics`) and the HTTP
//! endpoint that serves them with a health check (`endpoint`).

pub mod endpoint;
pub mod metrics;
