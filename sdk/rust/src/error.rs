//! Typed errors for the `IOT_*` return codes (docs/host-api.md, "Return codes").

/// Why a host call was refused. Each variant is one `IOT_*` code; a code the
/// SDK does not know (a newer host) is kept as `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `IOT_EPERM` (-1): not granted.
    Perm,
    /// `IOT_ENOENT` (-2): no such sensor, actuator or key.
    NoEnt,
    /// `IOT_EFAULT` (-3): a pointer or length outside the module's memory.
    Fault,
    /// `IOT_EINVAL` (-4): a malformed argument.
    Inval,
    /// `IOT_EQUOTA` (-5): the kv quota or timer count would be exceeded.
    Quota,
    /// `IOT_E2BIG` (-6): larger than the granted size limit.
    TooBig,
    /// `IOT_EAGAIN` (-7): rate limited; try in a later event.
    Again,
    /// `IOT_EIO` (-8): the driver or the store failed.
    Io,
    /// Any other non-zero code.
    Other(i32),
}

pub const IOT_OK: i32 = 0;
pub const IOT_EPERM: i32 = -1;
pub const IOT_ENOENT: i32 = -2;
pub const IOT_EFAULT: i32 = -3;
pub const IOT_EINVAL: i32 = -4;
pub const IOT_EQUOTA: i32 = -5;
pub const IOT_E2BIG: i32 = -6;
pub const IOT_EAGAIN: i32 = -7;
pub const IOT_EIO: i32 = -8;

impl Error {
    /// The error for a negative return code (`code` must not be 0).
    pub const fn from_code(code: i32) -> Error {
        match code {
            IOT_EPERM => Error::Perm,
            IOT_ENOENT => Error::NoEnt,
            IOT_EFAULT => Error::Fault,
            IOT_EINVAL => Error::Inval,
            IOT_EQUOTA => Error::Quota,
            IOT_E2BIG => Error::TooBig,
            IOT_EAGAIN => Error::Again,
            IOT_EIO => Error::Io,
            other => Error::Other(other),
        }
    }

    /// The `IOT_*` code; also what a handler returning this error reports.
    pub const fn code(self) -> i32 {
        match self {
            Error::Perm => IOT_EPERM,
            Error::NoEnt => IOT_ENOENT,
            Error::Fault => IOT_EFAULT,
            Error::Inval => IOT_EINVAL,
            Error::Quota => IOT_EQUOTA,
            Error::TooBig => IOT_E2BIG,
            Error::Again => IOT_EAGAIN,
            Error::Io => IOT_EIO,
            Error::Other(c) => c,
        }
    }

    /// The code's name as docs/host-api.md spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Error::Perm => "IOT_EPERM",
            Error::NoEnt => "IOT_ENOENT",
            Error::Fault => "IOT_EFAULT",
            Error::Inval => "IOT_EINVAL",
            Error::Quota => "IOT_EQUOTA",
            Error::TooBig => "IOT_E2BIG",
            Error::Again => "IOT_EAGAIN",
            Error::Io => "IOT_EIO",
            Error::Other(_) => "IOT_E?",
        }
    }
}

/// `Ok(rc)` for a non-negative return code, the typed error otherwise.
#[inline]
pub fn check(rc: i32) -> Result<i32, Error> {
    if rc >= 0 {
        Ok(rc)
    } else {
        Err(Error::from_code(rc))
    }
}

/// What a handler may return: its status code for the agent (0 = the event
/// was processed; anything else counts it as rejected).
pub trait Status {
    fn status(self) -> i32;
}

impl Status for () {
    #[inline]
    fn status(self) -> i32 {
        IOT_OK
    }
}

impl Status for i32 {
    #[inline]
    fn status(self) -> i32 {
        self
    }
}

impl Status for bool {
    /// `true` = processed (0), `false` = rejected (`IOT_EINVAL`).
    #[inline]
    fn status(self) -> i32 {
        if self {
            IOT_OK
        } else {
            IOT_EINVAL
        }
    }
}

impl Status for Error {
    #[inline]
    fn status(self) -> i32 {
        self.code()
    }
}

impl<T, E: Status> Status for Result<T, E> {
    #[inline]
    fn status(self) -> i32 {
        match self {
            Ok(_) => IOT_OK,
            Err(e) => e.status(),
        }
    }
}
