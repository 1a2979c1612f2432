//! The real `bistro` binary as a child process, for tests that kill it with
//! SIGKILL between two steps of a write and start it again on the same stores.
//!
//! [`ProcessStores`] makes fresh stores for a [`StorePair`] (a SQLite file;
//! a PostgreSQL schema and a Redis key prefix) and starts servers on them;
//! the test keeps its own connection to the relational store, to watch the
//! simulated processor's pauses and the pending steps from outside.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

use crate::{StorePair, TEST_TOKEN_SECRET, unique, with_search_path};

/// The `bistro` binary of this workspace, built once per test run (a no-op
/// when it is up to date).
///
/// # Panics
/// When it cannot be built.
pub fn bistro_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("the workspace root")
                .to_owned();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "-p", "bistro-server", "--bin", "bistro"])
                .current_dir(&workspace)
                .status()
                .expect("running cargo build");
            assert!(status.success(), "building the bistro binary failed");
            // This test binary is `<target>/<profile>/deps/it-…`; the server is beside `deps`.
            let exe = std::env::current_exe().expect("the test binary's path");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("the target profile directory");
            profile_dir.join("bistro")
        })
        .clone()
}

/// Fresh stores for servers started as child processes.
pub struct ProcessStores {
    env: Vec<(String, String)>,
    dir: PathBuf,
    db: DatabaseConnection,
    schema: Option<(String, String)>,
    pair: StorePair,
}

impl ProcessStores {
    /// Makes fresh stores of `pair`.
    ///
    /// # Panics
    /// When a store cannot be reached.
    pub async fn new(pair: &StorePair) -> Self {
        let id = unique();
        let dir = std::env::temp_dir().join(format!("bistro-process-{id}"));
        std::fs::create_dir_all(&dir).expect("a test folder");
        let (database_url, redis_url, schema) = match pair {
            StorePair::Embedded => (
                format!("sqlite://{}/bistro.db", dir.display()),
                String::new(),
                None,
            ),
            StorePair::Real {
                database_url,
                redis_url,
            } => {
                let schema = format!("p_{id}");
                let admin = Database::connect(database_url.as_str())
                    .await
                    .expect("PostgreSQL");
                admin
                    .execute_unprepared(&format!(r#"CREATE SCHEMA "{schema}""#))
                    .await
                    .expect("a schema");
                admin.close().await.expect("closing");
                (
                    with_search_path(database_url, &schema),
                    redis_url.clone(),
                    Some((database_url.clone(), schema)),
                )
            }
        };
        let env = vec![
            ("BISTRO_LISTEN", "127.0.0.1:0".to_owned()),
            ("BISTRO_DATABASE_URL", database_url.clone()),
            ("BISTRO_REDIS_URL", redis_url),
            ("BISTRO_KV__KEY_PREFIX", format!("bistro-process:{id}:")),
            ("BISTRO_AUTH__TOKEN_SECRET", TEST_TOKEN_SECRET.to_owned()),
            (
                "BISTRO_MAIL__MAILBOX_DIR",
                dir.join("mailbox").display().to_string(),
            ),
            ("BISTRO_LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", "info,sqlx=warn,sea_orm=warn".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        // The first server migrates; the test's connection waits for it.
        let db = bistro_sql::connect(&database_url, &bistro_sql::SqlConfig::default())
            .await
            .expect("the test's connection");
        Self {
            env,
            dir,
            db,
            schema,
            pair: pair.clone(),
        }
    }

    /// The test's own connection to the relational store.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Which pair these stores are.
    pub fn pair(&self) -> &StorePair {
        &self.pair
    }

    /// Starts a server on these stores with `vars` on top of the test
    /// settings, and waits until it listens.
    ///
    /// # Panics
    /// When it does not start within a minute.
    pub async fn start(&self, vars: &[(&str, &str)]) -> ServerProcess {
        let binary = tokio::task::spawn_blocking(bistro_binary)
            .await
            .expect("building the binary");
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("starting bistro");
        let stderr = child.stderr.take().expect("its log");
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        // Reads the log until the address, then keeps draining it (a full
        // pipe would stop the server).
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(sender) = &tx
                    && line.contains("Bistro is listening")
                    && let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line)
                    && let Some(addr) = entry["addr"].as_str().and_then(|a| a.parse().ok())
                {
                    let _ = sender.send(addr);
                    tx = None;
                }
            }
        });
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
            .await
            .expect("waiting for the server")
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("bistro did not start listening within a minute")
            });
        ServerProcess {
            child,
            addr,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// Runs `bistro <args>` on these stores with `vars` on top of the test
    /// settings, to its end: its status, standard output and log.
    ///
    /// # Panics
    /// When it cannot be started.
    pub async fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
        let binary = tokio::task::spawn_blocking(bistro_binary)
            .await
            .expect("building the binary");
        tokio::process::Command::new(binary)
            .args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .output()
            .await
            .expect("running bistro")
    }

    /// Removes the stores.
    pub async fn remove(self) {
        self.db.close().await.ok();
        if let Some((admin_url, schema)) = &self.schema
            && let Ok(admin) = Database::connect(admin_url.as_str()).await
        {
            let _ = admin
                .execute_unprepared(&format!(r#"DROP SCHEMA "{schema}" CASCADE"#))
                .await;
            let _ = admin.close().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running `bistro` process.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    client: reqwest::Client,
}

impl ServerProcess {
    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// An HTTP client for it.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Posts a GraphQL request as `token`; returns the response body.
    ///
    /// # Panics
    /// When the server does not answer.
    pub async fn graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: serde_json::Value,
    ) -> serde_json::Value {
        post_graphql(&self.client, &self.url("/graphql"), token, query, variables)
            .await
            .expect("the server answers")
    }

    /// Signs in; returns the access token (sessions on the in-process
    /// store die with the process, so a restarted server needs a new one).
    ///
    /// # Panics
    /// When the sign-in is refused.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let body = self
            .graphql(
                None,
                "mutation($input: LoginInput!) { login(input: $input) { session { accessToken } } }",
                serde_json::json!({ "input": { "email": email, "password": password } }),
            )
            .await;
        body["data"]["login"]["session"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned()
    }

    /// Sends SIGTERM, as an orchestrator stopping a replica does.
    ///
    /// # Panics
    /// When the signal cannot be sent.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "SIGTERM sent");
    }

    /// Waits (a minute at most) for the process to end by itself; its exit status.
    ///
    /// # Panics
    /// When it is still running after a minute.
    pub async fn exited(mut self) -> std::process::ExitStatus {
        for _ in 0..3_000 {
            if let Some(status) = self.child.try_wait().expect("the process's status") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the server did not exit within a minute")
    }

    /// Kills the process with SIGKILL, as a crash or an OOM kill would,
    /// and waits for it to be gone.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the process ends");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts a GraphQL request; `Err` when the connection failed.
///
/// # Errors
/// When the request does not get an answer.
pub async fn post_graphql(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> reqwest::Result<serde_json::Value> {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "query": query, "variables": variables }).to_string());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.send().await?.json().await
}
