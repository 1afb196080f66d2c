//! The web page in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! which `local-dev/install-deps.sh` installs): a wrong password is explained in plain
//! words; then sign up, pick a file, watch it upload and convert, download the MP3 (it must
//! decode and last as long as the video), and delete it. A screenshot of the page with the
//! finished conversion is kept at `$CARGO_TARGET_TMPDIR/web-page.png`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tests::app::TestApp;
use tests::fixtures;

const CHROMEDRIVER: &str = "chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let port = tests::cluster::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} does not start ({e}); local-dev/install-deps.sh installs chromium-driver"));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = reqwest::get(format!("{url}/status")).await
                && response.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer on {url} within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url }
    }

    /// A headless Chromium that saves downloads in `downloads`.
    async fn browser(&self, downloads: &Path) -> Client {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1000,760"],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector).capabilities(capabilities).connect(&self.url).await.expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const WAIT: Duration = Duration::from_secs(60);

async fn text_of(browser: &Client, css: &str) -> String {
    browser.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.unwrap()
}

/// Waits until `css` matches an element (fantoccini polls until the deadline).
async fn until(browser: &Client, css: &str) {
    browser.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css} within {WAIT:?}: {e}"));
}

/// The one finished `.mp3` in `dir` (Chromium writes `.crdownload` until it is done).
async fn downloaded_mp3(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + WAIT;
    loop {
        let names: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        let partial = names.iter().any(|p| p.extension().is_some_and(|e| e == "crdownload"));
        if let (false, Some(mp3)) = (partial, names.iter().find(|p| p.extension().is_some_and(|e| e == "mp3"))) {
            return mp3.clone();
        }
        assert!(Instant::now() < deadline, "no MP3 downloaded into {} within {WAIT:?}: {names:?}", dir.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_converts_a_video_in_the_browser() {
    let app = TestApp::spawn().await;
    let files = tempfile::tempdir().unwrap();
    let video = fixtures::video(files.path(), "holiday clip.mp4", 3.0);
    let downloads = files.path().join("downloads");
    std::fs::create_dir(&downloads).unwrap();
    let driver = Driver::start().await;
    let browser = driver.browser(&downloads).await;
    browser.goto(&app.url).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "mp3convert");

    // No account yet: the error says so in words.
    let email = format!("web-{}@example.com", std::process::id());
    browser.find(Locator::Css("#email")).await.unwrap().send_keys(&email).await.unwrap();
    browser.find(Locator::Css("#password")).await.unwrap().send_keys("a long password").await.unwrap();
    browser.find(Locator::Css("#sign-in")).await.unwrap().click().await.unwrap();
    assert_eq!(text_of(&browser, "#error:not([hidden])").await, "That email and password do not match an account.");

    // Sign up (which signs in), then pick the file: it uploads and converts by itself.
    browser.find(Locator::Css("#sign-up")).await.unwrap().click().await.unwrap();
    until(&browser, "#convert:not([hidden])").await;
    assert_eq!(text_of(&browser, "#who").await, email);
    assert_eq!(text_of(&browser, "#no-jobs").await, "Nothing yet: your conversions appear here.");
    browser.find(Locator::Css("#preset")).await.unwrap().select_by_value("cbr192").await.unwrap();
    browser.find(Locator::Css("#file")).await.unwrap().send_keys(video.to_str().unwrap()).await.unwrap();
    until(&browser, "tr[data-status=succeeded] button.download").await;
    assert_eq!(text_of(&browser, "tr[data-status=succeeded] td.file").await, "holiday clip.mp4");
    assert_eq!(text_of(&browser, "tr[data-status=succeeded] .status").await, "Ready");

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-page.png");
    std::fs::write(&screenshot, browser.screenshot().await.unwrap()).unwrap();
    println!("screenshot: {}", screenshot.display());

    // Download: the MP3 is the video's sound.
    browser.find(Locator::Css("tr[data-status=succeeded] button.download")).await.unwrap().click().await.unwrap();
    let mp3 = downloaded_mp3(&downloads).await;
    assert_eq!(mp3.file_name().unwrap(), "holiday clip.mp3");
    fixtures::assert_mp3(&mp3, 3.0);

    // The job is listed after a reload too, and deleting it deletes its MP3.
    browser.refresh().await.unwrap();
    until(&browser, "tr[data-status=succeeded] button.delete").await;
    browser.find(Locator::Css("tr[data-status=succeeded] button.delete")).await.unwrap().click().await.unwrap();
    assert_eq!(text_of(&browser, "tr[data-status=deleted] .status").await, "Deleted");
    let token = app
        .client
        .post(app.at("/api/v1/tokens"))
        .json(&json!({"email": email, "password": "a long password"}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let jobs: serde_json::Value = app.client.get(app.at("/api/v1/jobs")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let mp3_id = jobs["jobs"][0]["mp3_id"].as_str().expect("the job's MP3").to_owned();
    let gone = app.client.get(app.at(&format!("/api/v1/mp3s/{mp3_id}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(gone.status(), 404);

    browser.close().await.unwrap();
}
