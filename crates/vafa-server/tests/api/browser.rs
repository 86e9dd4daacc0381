//! A tiny browser for UI tests: keeps cookies, follows nothing by itself, signs staff in
//! through the login form, and reads the CSRF token off the page it is shown.

use crate::helpers::TestApp;
use std::collections::BTreeMap;
use std::sync::Mutex;

pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The first `name="csrf" value="…"` on the page.
    pub fn csrf(&self) -> String {
        value_after(&self.html, "name=\"csrf\" value=\"")
    }
}

pub fn value_after(html: &str, marker: &str) -> String {
    html.split(marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

pub struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
    pub csrf: Mutex<String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Mutex::default(),
            csrf: Mutex::default(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let res = req
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for c in headers.get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.lock().unwrap().remove(k);
            } else {
                self.set_cookie(k, v);
            }
        }
        let html = res.text().await.unwrap();
        let page = Page {
            status,
            headers,
            html,
        };
        let token = page.csrf();
        if !token.is_empty() {
            *self.csrf.lock().unwrap() = token;
        }
        page
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// An htmx request (`HX-Request`), answered with a fragment.
    pub async fn hx_get(&self, path: &str) -> Page {
        self.send(
            self.client
                .get(format!("{}{path}", self.base))
                .header("hx-request", "true"),
        )
        .await
    }

    /// Post a form with the page's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf.lock().unwrap().clone();
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, true).await
    }

    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)], htmx: bool) -> Page {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        if htmx {
            req = req.header("hx-request", "true");
        }
        self.send(req).await
    }

    /// Sign in through the form; answers the page the login redirected to.
    pub async fn login(&self, username: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        let token = value_after(&form.html, "name=\"token\" value=\"");
        let done = self
            .post_raw(
                "/login",
                &[
                    ("username", username),
                    ("password", password),
                    ("token", &token),
                ],
                false,
            )
            .await;
        assert_eq!(done.status, 303, "signed in: {}", done.html);
        // Load a page to learn the session's CSRF token.
        let home = self.get("/").await;
        self.get(home.location()).await
    }
}
