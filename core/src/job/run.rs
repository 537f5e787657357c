//! Running a job in a [`Session`]: the job checked against the session's limits before any
//! input is decoded, then its steps in order, each with its share of the time left.

use std::time::{Duration, Instant};

use super::step::{self, Step};
use super::{Job, JobInputs, JobOutcome, StepReport, at_step};
use crate::doodle::CancelToken;
use crate::{Error, Result, Session};

/// A session runs jobs: these methods are the session's, declared here beside the run loop.
impl Session {
    /// Checks `job` against this session's limits before any of its `inputs` (images
    /// and fonts, counted) is decoded: its options, [`Limits::max_job_steps`](crate::Limits::max_job_steps) and
    /// [`Limits::max_job_inputs`](crate::Limits::max_job_inputs).
    ///
    /// ```
    /// let job = stylemark::job::Job::from_json(r#"{"steps": [{"op": "mark_detect", "key": "k"}]}"#)?;
    /// let mut limits = stylemark::Limits::default();
    /// limits.set("max_job_inputs", "2")?;
    /// let session = stylemark::Session::default().with_limits(limits);
    /// assert!(session.check_job(&job, 2).is_ok());
    /// assert!(session.check_job(&job, 3).is_err());
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn check_job(&self, job: &Job, inputs: usize) -> Result<()> {
        Error::check_limit(
            "the number of job steps (max_job_steps)",
            job.steps.len() as u64,
            self.limits().max_job_steps,
            "split the work into several jobs",
        )?;
        job.validate()?;
        Error::check_limit(
            "the number of the job's images and fonts (max_job_inputs)",
            inputs as u64,
            self.limits().max_job_inputs,
            "give the job only the images and fonts its steps name",
        )
    }

    /// Runs `job`'s steps in order on `inputs`, each on the image the one before produced.
    /// See [`run_job_until`](Self::run_job_until) to stop it early.
    pub fn run_job(&self, job: &Job, inputs: &JobInputs) -> Result<JobOutcome> {
        self.run_job_until(job, inputs, &CancelToken::new(), None)
    }

    /// [`run_job`](Self::run_job), stopped by `cancel` (a painting step then returns its
    /// best image so far, with the status `cancelled` in its report, and the remaining
    /// steps still run on it) and by a `deadline` that may have started before the job
    /// (a server's request deadline, which counts reading the upload): painting steps
    /// paint at most until it, and a step that would start after it is a
    /// [`LimitExceeded`](Error::LimitExceeded) error naming the step. The job's own
    /// `time_budget`, when earlier, still applies.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use stylemark::Session;
    /// use stylemark::doodle::CancelToken;
    /// use stylemark::job::{Job, JobInputs};
    ///
    /// let job = Job::from_json(r#"{"input": "photo", "steps": [{"op": "mark_detect", "key": "k"}]}"#)?;
    /// let mut inputs = JobInputs::default();
    /// inputs.images.insert("photo".into(), stylemark::samples::photo(64, 48, 1));
    /// let past = Instant::now() - Duration::from_millis(1);
    /// let err = Session::default().run_job_until(&job, &inputs, &CancelToken::new(), Some(past)).unwrap_err();
    /// assert_eq!(err.kind(), stylemark::ErrorKind::LimitExceeded);
    /// assert!(err.to_string().contains("steps[0]"), "{err}");
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn run_job_until(
        &self,
        job: &Job,
        inputs: &JobInputs,
        cancel: &CancelToken,
        deadline: Option<Instant>,
    ) -> Result<JobOutcome> {
        self.check_job(job, inputs.images.len().saturating_add(inputs.fonts.len()))?;
        self.limits()
            .check_total_pixels(inputs.images.values().map(|i| (i.width(), i.height())))?;
        if job.needs_engine() {
            job.check_layers(&*self.engine()?)?;
        }
        job.run_in(self, inputs, cancel, deadline)
    }
}

impl Job {
    /// Runs the steps in order in `session` (its limits checked by the caller), each on the
    /// image the one before produced, until `deadline`.
    pub(crate) fn run_in(
        &self,
        session: &Session,
        inputs: &JobInputs,
        cancel: &CancelToken,
        deadline: Option<Instant>,
    ) -> Result<JobOutcome> {
        let job_started = Instant::now();
        let own = self
            .time_budget
            .and_then(|budget| job_started.checked_add(budget));
        let deadline = match (deadline, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut image = match &self.input {
            Some(name) => Some(step::image_named(inputs, name, "job.input")?.clone()),
            None => None,
        };
        let mut reports = Vec::with_capacity(self.steps.len());
        for (index, step) in self.steps.iter().enumerate() {
            let started = Instant::now();
            let time_left = match deadline {
                Some(deadline) => match deadline.checked_duration_since(started) {
                    Some(left) if !left.is_zero() => Some(share_of(&self.steps[index..], left)),
                    _ => return Err(out_of_time(index, step, job_started, deadline)),
                },
                None => None,
            };
            let context = step::StepContext {
                session,
                current: image.as_ref(),
                inputs,
                cancel,
                time_left,
                op: step.op(),
            };
            let output = step.run(&context).map_err(|e| at_step(index, e))?;
            if let Some(next) = output.image {
                image = Some(next);
            }
            reports.push(StepReport {
                op: step.op(),
                seconds: started.elapsed().as_secs_f64(),
                details: output.details,
            });
        }
        Ok(JobOutcome {
            image,
            steps: reports,
            output: self.output,
        })
    }
}

/// The time the first of `steps` may take out of the `left` before the job's deadline:
/// the doodles still to come share it equally, and a doodle followed by other steps
/// leaves them a fifth of its share (those steps cannot stop early, but are quick), so a
/// job of several steps ends with all of them done rather than out of time.
fn share_of(steps: &[Step], left: Duration) -> Duration {
    let doodles = steps.iter().filter(|s| s.paints()).count().max(1);
    let share = left / u32::try_from(doodles).unwrap_or(u32::MAX);
    let others_follow = steps.iter().skip(1).any(|s| !s.paints());
    if others_follow { share * 4 / 5 } else { share }
}

/// The error for a step that would start after the job's deadline.
fn out_of_time(index: usize, step: &Step, job_started: Instant, deadline: Instant) -> Error {
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    Error::JobOutOfTime {
        step: index,
        op: step.op(),
        spent_ms: millis(job_started.elapsed()),
        budget_ms: millis(deadline.saturating_duration_since(job_started)),
    }
}
