//! The browser tests' harness: Debian's Chromium, headless, driven through chromedriver
//! (WebDriver on `http://127.0.0.1:<free port>`) with fantoccini; [`Browser::axe`] runs
//! axe-core (from `tests/browser/node_modules`, installed by `cargo xtask test`) on the page
//! and fails on a serious or critical violation; [`Browser::screenshot`] writes the whole page
//! under `target/browser/<scenario>/`. A missing browser, driver or axe-core is a failure that
//! says how to install it, never a skip.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (package `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long an element or page may take to appear.
const WAIT: Duration = Duration::from_secs(20);

/// The workspace's `target` folder (or `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// axe-core's script, as `npm ci --prefix tests/browser` installs it.
pub fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/node_modules/axe-core/axe.min.js")
}

const FIX: &str = "run `cargo xtask test`, which installs chromium, chromium-driver and axe-core when they are missing";

/// Screenshots taken so far by this test's browsers.
static SHOTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A headless Chromium session for one scenario.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    /// The base address of the console, `https://127.0.0.1:<port>`.
    pub base: String,
    scenario: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// A free loopback port (bound, then let go).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium for `scenario`, its interface in `lang`,
    /// against the console at `base`.
    pub async fn start(scenario: &str, base: &str, lang: &str) -> anyhow::Result<Self> {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            if !Path::new(path).exists() {
                bail!("{path} is missing (Debian package {package}): {FIX}");
            }
        }
        if !axe_path().exists() {
            bail!("{} is missing: {FIX}", axe_path().display());
        }
        let port = free_port()?;
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, which the browser it starts joins: a test that fails
            // before `close` still ends them all when the session is dropped.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        let profile = tempfile::tempdir()?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("acceptInsecureCerts".into(), json!(true));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-default-apps",
                    "--hide-scrollbars", "--force-device-scale-factor=1",
                    format!("--user-data-dir={}", profile.path().display()),
                    "--window-size=1280,1000", format!("--lang={lang}"),
                ],
                "prefs": { "intl.accept_languages": lang },
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() > WAIT => {
                    bail!("chromedriver on {url} did not start a browser: {e}; {FIX}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            scenario: scenario.to_owned(),
            driver,
            _profile: profile,
        })
    }

    /// Opens `path` of the console.
    pub async fn open(&self, path: &str) -> anyhow::Result<()> {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .with_context(|| format!("opening {path}"))
    }

    /// The current address's path and query.
    pub async fn path(&self) -> anyhow::Result<String> {
        let url = self.client.current_url().await?;
        Ok(match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        })
    }

    /// The element with `id`, waited for.
    pub async fn find(&self, id: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.wait_for(&by_id(id), &format!("#{id}")).await
    }

    /// Waits for the first element whose id is one of `ids` and says which it was: for a form
    /// whose answer may be either page, read after the answer arrived, not before.
    pub async fn find_one_of(&self, ids: &[&str]) -> anyhow::Result<String> {
        let css = ids.iter().map(|id| by_id(id)).collect::<Vec<_>>().join(",");
        let element = self.wait_for(&css, &format!("any of {ids:?}")).await?;
        Ok(element.attr("id").await?.unwrap_or_default())
    }

    /// The first element matching `css`, waited for; the error names `what` and where the
    /// browser is.
    async fn wait_for(
        &self,
        css: &str,
        what: &str,
    ) -> anyhow::Result<fantoccini::elements::Element> {
        let found = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => Ok(element),
            Err(e) => {
                let at = self.path().await.unwrap_or_default();
                Err(anyhow::Error::from(e).context(format!("no element {what} on {at}")))
            }
        }
    }

    /// Whether an element with `id` is on the page now.
    pub async fn has(&self, id: &str) -> bool {
        self.client.find(Locator::Css(&by_id(id))).await.is_ok()
    }

    /// Types `text` into the field with `id` (emptied first).
    pub async fn fill(&self, id: &str, text: &str) -> anyhow::Result<()> {
        let field = self.find(id).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// Waits until the browser is at `path` exactly (up to a minute: password hashing is slow
    /// in a debug build on a busy machine); the error shows where it is and the page's start.
    pub async fn arrive(&self, path: &str) -> anyhow::Result<()> {
        self.arrive_where(path, |at| at == path).await
    }

    /// Waits until the browser is at a path that starts with `prefix`.
    pub async fn arrive_under(&self, prefix: &str) -> anyhow::Result<()> {
        self.arrive_where(prefix, |at| at.starts_with(prefix)).await
    }

    async fn arrive_where(&self, wanted: &str, here: impl Fn(&str) -> bool) -> anyhow::Result<()> {
        for _ in 0..600 {
            if here(&self.path().await?) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page = self.client.source().await.unwrap_or_default();
        let main = page
            .find("<main")
            .map_or("", |at| page.get(at..).unwrap_or_default());
        anyhow::bail!(
            "expected {wanted}, at {}: {}",
            self.path().await?,
            main.chars().take(600).collect::<String>()
        )
    }

    /// Waits until the page shown is in `lang` (after a click that changes the language).
    pub async fn arrive_in_language(&self, lang: &str) -> anyhow::Result<()> {
        for _ in 0..600 {
            if self.lang().await? == lang {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the page stayed in {:?}, not {lang:?}", self.lang().await?)
    }

    /// Fills in and sends the sign-in form, without waiting for what follows.
    pub async fn submit_sign_in(&self, name: &str, password: &str) -> anyhow::Result<()> {
        self.open("/sign-in").await?;
        self.fill("name", name).await?;
        self.fill("password", password).await?;
        self.click("sign-in").await
    }

    /// Signs in and waits until the sign-in page is left; the error says why when it is not.
    pub async fn sign_in(&self, name: &str, password: &str) -> anyhow::Result<()> {
        self.submit_sign_in(name, password).await?;
        for _ in 0..600 {
            if !self.path().await?.starts_with("/sign-in") {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let why = if self.has("sign-in-error").await {
            self.text("sign-in-error").await?
        } else {
            self.path().await?
        };
        anyhow::bail!("still on the sign-in page: {why}")
    }

    /// Chooses `language` on the settings page and saves.
    pub async fn choose_language(&self, language: &str) -> anyhow::Result<()> {
        self.open("/settings").await?;
        self.find("language")
            .await?
            .select_by_value(language)
            .await?;
        self.click("save-preferences").await?;
        self.arrive("/settings?done=saved").await
    }

    /// Clicks the element with `id`.
    pub async fn click(&self, id: &str) -> anyhow::Result<()> {
        self.find(id).await?.click().await?;
        Ok(())
    }

    /// The text of the element with `id`.
    pub async fn text(&self, id: &str) -> anyhow::Result<String> {
        Ok(self.find(id).await?.text().await?)
    }

    /// The `lang` of the page's `<html>`.
    pub async fn lang(&self) -> anyhow::Result<String> {
        let value = self
            .client
            .execute("return document.documentElement.lang;", vec![])
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Runs axe-core (WCAG 2.0/2.1 A and AA) on the page; writes the counts by impact to
    /// `target/browser/axe.jsonl` and fails on a serious or critical violation.
    pub async fn axe(&self, page: &str) -> anyhow::Result<()> {
        let axe = std::fs::read_to_string(axe_path())
            .with_context(|| format!("{}: {FIX}", axe_path().display()))?;
        let script = format!(
            "{axe}\n;const done = arguments[arguments.length - 1];\
             axe.run(document, {{runOnly: {{type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}}})\
             .then(r => done(r.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, html: v.nodes.slice(0, 3).map(n => n.html)}}))))\
             .catch(e => done([{{id: 'axe-failed', impact: 'critical', help: String(e), nodes: 0, html: []}}]));"
        );
        let violations = self.client.execute_async(&script, vec![]).await?;
        let list = violations.as_array().cloned().unwrap_or_default();
        let count = |impact: &str| list.iter().filter(|v| v["impact"] == impact).count();
        let line = json!({
            "scenario": self.scenario,
            "page": page,
            "path": self.path().await.unwrap_or_default(),
            "critical": count("critical"),
            "serious": count("serious"),
            "moderate": count("moderate"),
            "minor": count("minor"),
            "violations": list,
        });
        let dir = target_dir().join("browser");
        std::fs::create_dir_all(&dir)?;
        use std::io::Write;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("axe.jsonl"))?;
        writeln!(log, "{line}")?;
        let bad: Vec<&Value> = list
            .iter()
            .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
            .collect();
        if !bad.is_empty() {
            bail!(
                "axe found serious or critical violations on {page}: {}",
                serde_json::to_string_pretty(&bad)?
            );
        }
        Ok(())
    }

    /// A screenshot of the whole page, `target/browser/<scenario>/<nn>-<name>.png`.
    pub async fn screenshot(&mut self, name: &str) -> anyhow::Result<PathBuf> {
        let height = self
            .client
            .execute(
                "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);",
                vec![],
            )
            .await?
            .as_u64()
            .unwrap_or(1000)
            .clamp(600, 8000);
        self.client
            .set_window_size(1280, height as u32 + 120)
            .await?;
        let png = self.client.screenshot().await?;
        self.client.set_window_size(1280, 1000).await?;
        // One count for every browser of the test (its own process), so two browsers' pages
        // interleave in the order they were taken.
        let shot = SHOTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let dir = target_dir().join("browser").join(&self.scenario);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{shot:02}-{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Both checks every visited page gets: axe, then a screenshot.
    pub async fn check(&mut self, name: &str) -> anyhow::Result<()> {
        self.axe(name).await?;
        self.screenshot(name).await?;
        Ok(())
    }

    /// Ends the browser and the driver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let closed = self.client.clone().close().await;
        let _ = self.driver.kill().await;
        closed?;
        Ok(())
    }
}

/// The selector of the element with `id`: by attribute, so that ids with dots (message-file
/// paths) need no escaping.
fn by_id(id: &str) -> String {
    format!("[id=\"{id}\"]")
}

impl Drop for Browser {
    /// Ends the driver's whole process group: the driver and the browser it started, which
    /// killing the driver alone would leave running.
    fn drop(&mut self) {
        if let Some(group) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
