//! Choosing where the numbers are crunched.
//!
//! [`DeviceKind`] is what a user picks (`cpu`, `ndarray`, `wgpu`); [`ComputeDevice`] is an
//! opened, checked device that the encoders and the style-transfer engine run on.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A compute device, as chosen by the user at run time.
///
/// | name      | backend                      | notes                                        |
/// |-----------|------------------------------|----------------------------------------------|
/// | `cpu`     | burn flex (pure Rust, SIMD, multi-threaded) | the default                   |
/// | `ndarray` | burn ndarray                 | slower; kept for comparison (feature `ndarray`) |
/// | `wgpu`    | burn wgpu                    | any Vulkan/Metal/DX12 GPU, or Mesa lavapipe on a CPU (feature `wgpu`) |
///
/// ```
/// use stylemark::DeviceKind;
///
/// let kind: DeviceKind = "cpu".parse()?;
/// assert_eq!(kind, DeviceKind::default());
/// assert!(kind.is_compiled());
/// assert!("tpu".parse::<DeviceKind>().is_err());
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The burn flex CPU backend: the default, and the fastest on CPU.
    #[default]
    Cpu,
    /// The burn ndarray CPU backend.
    Ndarray,
    /// The burn wgpu backend (GPU, or Mesa lavapipe on CPU-only machines).
    Wgpu,
}

impl DeviceKind {
    /// Every device kind stylemark knows, compiled in or not.
    pub const ALL: [DeviceKind; 3] = [DeviceKind::Cpu, DeviceKind::Ndarray, DeviceKind::Wgpu];

    /// The name used on the command line and in job files.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Ndarray => "ndarray",
            DeviceKind::Wgpu => "wgpu",
        }
    }

    /// The cargo feature of the `stylemark` crate that compiles this device in.
    pub fn cargo_feature(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "(always compiled)",
            DeviceKind::Ndarray => "ndarray",
            DeviceKind::Wgpu => "wgpu",
        }
    }

    /// Whether this build of stylemark contains this device.
    pub fn is_compiled(self) -> bool {
        match self {
            DeviceKind::Cpu => true,
            DeviceKind::Ndarray => cfg!(feature = "ndarray"),
            DeviceKind::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The devices this build contains.
    ///
    /// ```
    /// assert!(stylemark::DeviceKind::compiled().contains(&stylemark::DeviceKind::Cpu));
    /// ```
    pub fn compiled() -> Vec<DeviceKind> {
        Self::ALL.into_iter().filter(|d| d.is_compiled()).collect()
    }

    /// Opens the device and checks that it computes, with a clear error when it is not
    /// compiled in or not present on this machine.
    ///
    /// Opening is cheap after the first time: the GPU runtime is initialised once per
    /// process and shared.
    ///
    /// ```
    /// let device = stylemark::DeviceKind::Cpu.open()?;
    /// assert_eq!(device.kind(), stylemark::DeviceKind::Cpu);
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn open(self) -> Result<ComputeDevice> {
        if !self.is_compiled() {
            return Err(Error::DeviceNotCompiled {
                device: self.name().into(),
                feature: self.cargo_feature(),
                available: Self::compiled()
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let device = self.burn_device()?;
        let description = self.describe();
        let opened = ComputeDevice {
            kind: self,
            device,
            description,
        };
        opened.self_test()?;
        Ok(opened)
    }

    fn describe(self) -> String {
        match self {
            DeviceKind::Cpu => format!("cpu (burn flex, {} threads)", available_threads()),
            DeviceKind::Ndarray => "ndarray (burn ndarray)".into(),
            DeviceKind::Wgpu => wgpu_adapter_description(),
        }
    }

    #[allow(unreachable_code, deprecated)]
    fn burn_device(self) -> Result<Device> {
        match self {
            DeviceKind::Cpu => Ok(Device::flex()),
            DeviceKind::Ndarray => {
                #[cfg(feature = "ndarray")]
                return Ok(Device::ndarray());
                Err(Error::Internal(
                    "ndarray device requested without the feature".into(),
                ))
            }
            DeviceKind::Wgpu => {
                #[cfg(feature = "wgpu")]
                return wgpu::shared_device();
                Err(Error::Internal(
                    "wgpu device requested without the feature".into(),
                ))
            }
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DeviceKind {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                Error::option(
                    "device",
                    format!("`{name}` is not a device; use cpu, ndarray or wgpu"),
                )
            })
    }
}

/// An opened device: where tensors live and computations run.
///
/// Cheap to clone; all clones refer to the same device.
#[derive(Clone)]
pub struct ComputeDevice {
    kind: DeviceKind,
    device: Device,
    description: String,
}

impl fmt::Debug for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComputeDevice")
            .field("kind", &self.kind)
            .field("description", &self.description)
            .finish()
    }
}

impl ComputeDevice {
    /// Which kind of device this is.
    pub fn kind(&self) -> DeviceKind {
        self.kind
    }

    /// A one-line human description (backend, adapter name, threads).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The burn device, for computations without gradients (public as
    /// [`burn_0_22::device`](crate::burn_0_22::device)).
    pub(crate) fn burn(&self) -> &Device {
        &self.device
    }

    /// The same device with automatic differentiation enabled (public as
    /// [`burn_0_22::autodiff_device`](crate::burn_0_22::autodiff_device)).
    pub(crate) fn autodiff(&self) -> Device {
        self.device.clone().autodiff()
    }

    /// Runs a tiny computation and reads it back, turning a backend panic into an error.
    fn self_test(&self) -> Result<()> {
        let device = self.device.clone();
        let outcome = catch_unwind(AssertUnwindSafe(move || {
            let a = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [3]), &device);
            a.clone().mul(a).sum().try_into_scalar::<f32>()
        }));
        match outcome {
            Ok(Ok(value)) if (value - 14.0).abs() < 1e-4 => Ok(()),
            Ok(Ok(value)) => Err(Error::DeviceUnavailable {
                device: self.kind.name().into(),
                reason: format!("a self-test computed {value} instead of 14"),
            }),
            Ok(Err(e)) => Err(Error::DeviceUnavailable {
                device: self.kind.name().into(),
                reason: format!("a self-test failed: {e:?}"),
            }),
            Err(panic) => Err(Error::DeviceUnavailable {
                device: self.kind.name().into(),
                reason: format!("a self-test failed: {}", crate::panic_message(&panic)),
            }),
        }
    }
}

fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn wgpu_adapter_description() -> String {
    #[cfg(feature = "wgpu")]
    {
        wgpu::adapter_description()
    }
    #[cfg(not(feature = "wgpu"))]
    {
        "wgpu".into()
    }
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use std::sync::OnceLock;

    use burn::tensor::Device;

    use crate::{Error, Result};

    static DEVICE: OnceLock<std::result::Result<(Device, String), String>> = OnceLock::new();

    const HINT: &str = "no GPU adapter was found. Install a Vulkan driver for your GPU, or Mesa's \
                        CPU Vulkan driver (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers`), \
                        or use --device cpu";

    /// The wgpu runtime can be initialised once per process; every opener shares it.
    fn init() -> &'static std::result::Result<(Device, String), String> {
        DEVICE.get_or_init(|| {
            let attempt = std::panic::catch_unwind(|| Device::wgpu_options().init());
            match attempt {
                Ok(Ok(device)) => {
                    let description = adapter_name();
                    Ok((device, description))
                }
                Ok(Err(e)) => Err(format!("{HINT} (wgpu said: {e})")),
                Err(panic) => Err(format!(
                    "{HINT} (wgpu said: {})",
                    crate::panic_message(&panic)
                )),
            }
        })
    }

    fn adapter_name() -> String {
        let instance = burn::tensor::wgpu::wgpu::Instance::default();
        let adapters =
            block_on(instance.enumerate_adapters(burn::tensor::wgpu::wgpu::Backends::all()));
        let names: Vec<String> = adapters
            .iter()
            .map(|a| {
                let info = a.get_info();
                format!("{} ({:?})", info.name, info.backend)
            })
            .collect();
        format!("wgpu ({})", names.join(", "))
    }

    /// Native wgpu resolves adapter enumeration immediately; a busy-polling executor with a
    /// no-op waker is all it needs, without pulling in an async runtime.
    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut context) {
                return value;
            }
            std::thread::yield_now();
        }
    }

    pub(super) fn shared_device() -> Result<Device> {
        init()
            .as_ref()
            .map(|(d, _)| d.clone())
            .map_err(|reason| Error::DeviceUnavailable {
                device: "wgpu".into(),
                reason: reason.clone(),
            })
    }

    pub(super) fn adapter_description() -> String {
        match init() {
            Ok((_, description)) => description.clone(),
            Err(_) => "wgpu (no adapter)".into(),
        }
    }
}
