//! A running `irsa-credential-process serve`, its env lines parsed, its stderr collected, and a
//! plain HTTP client to talk to it.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use super::{Pod, Run};

pub struct Serving {
    child: Option<Child>,
    /// The `export NAME='value'` lines it printed, as pairs.
    pub env: Vec<(String, String)>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    agent: ureq::Agent,
}

/// A status and a body.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Serving {
    /// Starts `serve` with `args` in the pod; `Err` with the finished run when it exits before
    /// printing its env lines (a failed start).
    pub fn start(pod: &Pod, args: &[&str]) -> Result<Serving, Run> {
        let mut all = vec!["serve", "--port", "0"];
        all.extend_from_slice(args);
        let mut child = pod
            .helper(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let want = if args.contains(&"--imds") { 3 } else { 2 };
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut env = Vec::new();
        let mut printed = String::new();
        while env.len() < want {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().unwrap();
                stderr_reader.join().unwrap();
                return Err(Run {
                    code: status.code().unwrap_or(-1),
                    stdout: printed,
                    stderr: stderr.lock().unwrap().clone(),
                });
            }
            printed.push_str(&line);
            let (name, value) = line
                .trim_end()
                .strip_prefix("export ")
                .and_then(|rest| rest.split_once('='))
                .unwrap_or_else(|| panic!("not an export line: {line:?}"));
            env.push((name.to_string(), value.trim_matches('\'').to_string()));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Serving {
            child: Some(child),
            env,
            stderr,
            stderr_reader: Some(stderr_reader),
            agent,
        })
    }

    pub fn var(&self, name: &str) -> &str {
        self.env
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("{name} not printed: {:?}", self.env))
    }

    /// AWS_CONTAINER_CREDENTIALS_FULL_URI.
    pub fn url(&self) -> &str {
        self.var("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    }

    /// The token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
    pub fn auth_token(&self) -> String {
        std::fs::read_to_string(self.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// GET `url` with `headers`.
    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.call())
    }

    /// PUT `url` with `headers` and no body.
    pub fn put(&self, url: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.agent.put(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.send_empty())
    }

    /// The credentials, as an SDK asks for them.
    pub fn credentials(&self) -> Answer {
        let token = self.auth_token();
        self.get(self.url(), &[("Authorization", &token)])
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// SIGTERM, as the kubelet stops a container; the finished run.
    pub fn stop(mut self) -> Run {
        let mut child = self.child.take().unwrap();
        let pid = rustix::process::Pid::from_child(&child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let status = child.wait().unwrap();
        // All of stderr, to its end, before anything is asserted on it.
        if let Some(reader) = self.stderr_reader.take() {
            reader.join().unwrap();
        }
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::new(),
            stderr: self.stderr(),
        }
    }
}

fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = result.unwrap();
    Answer {
        status: response.status().as_u16(),
        body: response.body_mut().read_to_string().unwrap(),
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
