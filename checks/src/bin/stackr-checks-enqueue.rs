//! Adds one job to a service's queue, configured exactly as the service's own processes are
//! (`REDIS_URL`, `REDIS_PASSWORD_FILE`, `STACKR_QUEUE`, `STACKR_QUEUE_PREFIX`), and prints its id.
//! The systemd checks run it inside their container, where each Redis listens on loopback only:
//! `stackr-checks-enqueue <job name> [<JSON data>]`.

use anyhow::Context;
use stackr_kit::worker::Producer;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let name = args
        .next()
        .context("usage: stackr-checks-enqueue <job name> [<JSON data>]")?;
    let data: serde_json::Value =
        serde_json::from_str(&args.next().unwrap_or_else(|| "{}".to_owned()))
            .context("the job data is not JSON")?;
    let producer = Producer::from_env().context("queue configuration")?;
    let id = producer.add(&name, data).await?;
    println!("{id}");
    Ok(())
}
