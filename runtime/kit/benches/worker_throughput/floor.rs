//! The floor: the most jobs/s a client of BullMQ's scripts gets from this Redis with
//! `concurrency` jobs in flight, measured.
//!
//! No worker at all. One blocking connection runs `moveToFinished` with fetch-next, the single
//! round trip per job that Node's Worker and ours take too. Nothing else happens: no
//! processing, no lock renewal, no stalled check, no events.
//!
//! At concurrency 1 the calls go one after another: a worker with one job in flight waits for
//! every round trip just as the floor does and adds its own work on top, so its rate is at most
//! the floor's. Above 1 the floor sends the calls for all its jobs in flight in one pipeline and
//! reads the replies (each carries the next job) before sending the next pipeline: Redis reads a
//! whole batch from one socket and runs the scripts back to back, the least per-job overhead a
//! client can impose on it.

use std::path::Path;
use std::thread::JoinHandle;

use redis::Value;
use stackr_kit::worker::QueueConfig;

/// The worker options both real workers run with (bullmq defaults): 30 s locks, completed jobs
/// kept, no metrics. The script does the same work for the floor as for them.
const LOCK_DURATION_MS: u64 = 30_000;

/// The lock token of every job the floor runs (each job has its own lock key, so one token will
/// do for all the jobs in flight).
const TOKEN: &str = "floor-token";

/// Starts the floor on its own thread with up to `concurrency` jobs in flight; it returns how many
/// jobs it completed once the queue is empty.
pub fn start(queue: &QueueConfig, commands: &Path, concurrency: usize) -> JoinHandle<usize> {
    let scripts = Scripts::read(commands);
    let queue = queue.clone();
    std::thread::spawn(move || {
        let (_, mut conn, floor) = scripts.connect(&queue);
        floor.run(&mut conn, concurrency)
    })
}

/// The floor at concurrency 1 over redis-rs's async connection, on a single-threaded runtime of
/// its own thread: the same calls, one after another, through the client library and runtime
/// the worker's queue thread uses. What it costs above [`start`]'s blocking connection is the
/// async client's own share, which no worker built on it avoids.
pub fn start_async(queue: &QueueConfig, commands: &Path) -> JoinHandle<usize> {
    let scripts = Scripts::read(commands);
    let queue = queue.clone();
    std::thread::spawn(move || {
        let (client, _, floor) = scripts.connect(&queue);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("async floor runtime");
        runtime.block_on(async {
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .expect("async floor connection");
            floor.run_one_async(&mut conn).await
        })
    })
}

/// The two scripts the floor runs, read before its thread starts.
struct Scripts {
    move_to_active: String,
    move_to_finished: String,
}

impl Scripts {
    fn read(commands: &Path) -> Scripts {
        Scripts {
            move_to_active: read_script(commands, "moveToActive-11.lua"),
            move_to_finished: read_script(commands, "moveToFinished-14.lua"),
        }
    }

    /// A blocking connection with the scripts loaded, and the floor ready to run on it.
    fn connect(&self, queue: &QueueConfig) -> (redis::Client, redis::Connection, Floor) {
        let client = redis::Client::open(queue.redis_url.as_str()).expect("redis url");
        let mut conn = client.get_connection().expect("floor connection");
        let floor = Floor::new(
            &mut conn,
            queue,
            &self.move_to_active,
            &self.move_to_finished,
        );
        (client, conn, floor)
    }
}

fn read_script(commands: &Path, file: &str) -> String {
    let path = commands.join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Everything a call needs but the job id and the time, prepared once: the floor's loop does
/// nothing per job that it could do before.
struct Floor {
    /// `<prefix>:<queue>:`, also the start of every job key.
    key_prefix: String,
    active_sha: String,
    finished_sha: String,
    /// KEYS 1-10, shared by moveToActive and moveToFinished.
    base_keys: Vec<String>,
    completed_key: String,
    metrics_key: String,
    marker_key: String,
    active_opts: Vec<u8>,
    finished_opts: Vec<u8>,
}

impl Floor {
    fn new(
        conn: &mut redis::Connection,
        queue: &QueueConfig,
        move_to_active: &str,
        move_to_finished: &str,
    ) -> Self {
        let load = |conn: &mut redis::Connection, script: &str| -> String {
            redis::cmd("SCRIPT")
                .arg("LOAD")
                .arg(script)
                .query(conn)
                .expect("SCRIPT LOAD")
        };
        let keys = bullmq::QueueKeys::new(&queue.queue, Some(&queue.prefix));
        let base_keys = vec![
            keys.wait(),
            keys.active(),
            keys.prioritized(),
            keys.events(),
            keys.stalled(),
            keys.limiter(),
            keys.delayed(),
            keys.paused(),
            keys.meta(),
            keys.pc(),
        ];
        Floor {
            active_sha: load(conn, move_to_active),
            finished_sha: load(conn, move_to_finished),
            base_keys,
            completed_key: keys.completed(),
            metrics_key: keys.get("metrics:completed"),
            marker_key: keys.marker(),
            active_opts: move_to_active_opts(),
            finished_opts: move_to_finished_opts(),
            key_prefix: keys.key_prefix(),
        }
    }

    /// Completes jobs, `concurrency` at a time, until the queue is empty; returns how many.
    fn run(&self, conn: &mut redis::Connection, concurrency: usize) -> usize {
        let mut in_flight: Vec<String> = (0..concurrency)
            .map_while(|_| next_job_id(self.move_to_active().query(conn).expect("moveToActive")))
            .collect();
        let mut completed = 0;
        if concurrency == 1 {
            // No pipeline: exactly the one call per job a worker with one job in flight makes.
            while let Some(job_id) = in_flight.pop() {
                let reply = self.move_to_finished(&job_id).query(conn);
                in_flight.extend(next_job_id(reply.expect("moveToFinished")));
                completed += 1;
            }
            return completed;
        }
        while !in_flight.is_empty() {
            let mut pipeline = redis::pipe();
            for job_id in &in_flight {
                pipeline.add_command(self.move_to_finished(job_id));
            }
            let replies: Vec<Value> = pipeline.query(conn).expect("moveToFinished pipeline");
            completed += in_flight.len();
            in_flight = replies.into_iter().filter_map(next_job_id).collect();
        }
        completed
    }

    /// [`Floor::run`] at concurrency 1, over an async connection.
    async fn run_one_async(&self, conn: &mut redis::aio::MultiplexedConnection) -> usize {
        let first = self.move_to_active().query_async(conn).await;
        let mut next = next_job_id(first.expect("moveToActive"));
        let mut completed = 0;
        while let Some(job_id) = next {
            let reply = self.move_to_finished(&job_id).query_async(conn).await;
            next = next_job_id(reply.expect("moveToFinished"));
            completed += 1;
        }
        completed
    }

    fn move_to_active(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(&self.active_sha).arg(11).arg(&self.base_keys);
        cmd.arg(&self.marker_key)
            .arg(&self.key_prefix)
            .arg(now_ms())
            .arg(&self.active_opts);
        cmd
    }

    /// Completes `job_id` and fetches the next job.
    fn move_to_finished(&self, job_id: &str) -> redis::Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(&self.finished_sha).arg(14).arg(&self.base_keys);
        cmd.arg(&self.completed_key)
            .arg(format!("{}{job_id}", self.key_prefix))
            .arg(&self.metrics_key)
            .arg(&self.marker_key);
        cmd.arg(job_id)
            .arg(now_ms())
            .arg("returnvalue")
            .arg(r#"{"ok":true}"#)
            .arg("completed")
            .arg("1") // fetch next
            .arg(&self.key_prefix)
            .arg(&self.finished_opts)
            .arg("");
        cmd
    }
}

/// moveToActive's options (msgpack), as bullmq-official's worker packs them.
fn move_to_active_opts() -> Vec<u8> {
    let mut opts = Vec::new();
    rmp::encode::write_map_len(&mut opts, 2).unwrap();
    write_pair_str(&mut opts, "token", TOKEN);
    rmp::encode::write_str(&mut opts, "lockDuration").unwrap();
    rmp::encode::write_uint(&mut opts, LOCK_DURATION_MS).unwrap();
    opts
}

/// moveToFinished's options (msgpack) for a completed job, as bullmq-official's worker packs
/// them.
fn move_to_finished_opts() -> Vec<u8> {
    use rmp::encode::{write_bool, write_map_len, write_sint, write_str, write_uint};
    let mut opts = Vec::new();
    write_map_len(&mut opts, 9).unwrap();
    write_pair_str(&mut opts, "token", TOKEN);
    write_str(&mut opts, "keepJobs").unwrap();
    write_map_len(&mut opts, 1).unwrap();
    write_str(&mut opts, "count").unwrap();
    write_sint(&mut opts, -1).unwrap();
    write_str(&mut opts, "lockDuration").unwrap();
    write_uint(&mut opts, LOCK_DURATION_MS).unwrap();
    write_str(&mut opts, "attempts").unwrap();
    write_uint(&mut opts, 0).unwrap();
    write_pair_str(&mut opts, "maxMetricsSize", "");
    for flag in ["fpof", "cpof", "idof", "rdof"] {
        write_str(&mut opts, flag).unwrap();
        write_bool(&mut opts, false).unwrap();
    }
    opts
}

fn write_pair_str(buf: &mut Vec<u8>, key: &str, value: &str) {
    rmp::encode::write_str(buf, key).unwrap();
    rmp::encode::write_str(buf, value).unwrap();
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The id of the job a script moved to active: a reply is `[job hash, job id, …]` when it
/// carries a job, and something else (job id "0", nil, an empty hash) when the queue is empty.
fn next_job_id(reply: Value) -> Option<String> {
    match reply {
        Value::Array(parts) => match (parts.first(), parts.get(1)) {
            (Some(Value::Array(hash)), Some(Value::BulkString(id)))
                if !hash.is_empty() && id.as_slice() != b"0" =>
            {
                Some(String::from_utf8_lossy(id).into_owned())
            }
            _ => None,
        },
        Value::Int(code) if code < 0 => panic!("script error code {code}"),
        _ => None,
    }
}
