//! Windows: the owner-only access control list of a secrets file or directory, set and checked
//! with the Win32 security calls. The one place in the workspace with `unsafe` code (the
//! workspace forbids it; this crate denies it everywhere but here): every call is a plain Win32
//! call on buffers this module owns, with its result checked.

#![allow(unsafe_code)]

use std::io;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    GetNamedSecurityInfoW, SE_FILE_OBJECT, SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, ACL_REVISION, ACL_SIZE_INFORMATION, AclSizeInformation,
    AddAccessAllowedAceEx, CONTAINER_INHERIT_ACE, CreateWellKnownSid, DACL_SECURITY_INFORMATION,
    EqualSid, GetAce, GetAclInformation, GetLengthSid, GetTokenInformation, InitializeAcl,
    NO_INHERITANCE, OBJECT_INHERIT_ACE, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
    PSID, SECURITY_MAX_SID_SIZE, TOKEN_QUERY, TOKEN_USER, TokenUser, WinBuiltinAdministratorsSid,
    WinLocalSystemSid,
};
use windows_sys::Win32::Storage::FileSystem::FILE_ALL_ACCESS;
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// `ACCESS_ALLOWED_ACE_TYPE` and the other ACE types that grant access (object, callback,
/// callback object): an entry of these types for another account lets it in.
const ALLOWING_ACE_TYPES: [u8; 4] = [0, 5, 9, 11];

/// Closes a token handle.
struct Token(HANDLE);

impl Drop for Token {
    fn drop(&mut self) {
        // SAFETY: the handle came from OpenProcessToken and is closed once.
        unsafe {
            CloseHandle(self.0);
        }
    }
}

/// Frees a security descriptor the system allocated.
struct Local(PSECURITY_DESCRIPTOR);

impl Drop for Local {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from GetNamedSecurityInfoW and is freed once.
            unsafe {
                LocalFree(self.0);
            }
        }
    }
}

/// The NUL-terminated UTF-16 form of `path`.
fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str()
        .encode_wide()
        .chain(std::iter::once(0))
        .collect()
}

/// The security identifier of the user this process runs as, as bytes.
fn current_user_sid() -> io::Result<Vec<u8>> {
    let mut handle: HANDLE = std::ptr::null_mut();
    // SAFETY: a pseudo-handle of this process, and a pointer to a local that receives the token.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut handle) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let token = Token(handle);
    let mut len = 0u32;
    // SAFETY: a size query (no buffer); it fails with the size needed in `len`.
    unsafe {
        GetTokenInformation(token.0, TokenUser, std::ptr::null_mut(), 0, &mut len);
    }
    if len == 0 {
        return Err(io::Error::last_os_error());
    }
    // u64s, so the TOKEN_USER at its start is aligned.
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: `buf` holds at least `len` bytes.
    if unsafe { GetTokenInformation(token.0, TokenUser, buf.as_mut_ptr().cast(), len, &mut len) }
        == 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call filled `buf` with a TOKEN_USER whose SID points into `buf`.
    unsafe {
        let user = &*(buf.as_ptr() as *const TOKEN_USER);
        let sid = user.User.Sid;
        let n = GetLengthSid(sid) as usize;
        Ok(std::slice::from_raw_parts(sid as *const u8, n).to_vec())
    }
}

/// A well-known security identifier (SYSTEM, Administrators), as bytes.
fn well_known(kind: i32) -> io::Result<Vec<u8>> {
    let mut buf = [0u8; SECURITY_MAX_SID_SIZE as usize];
    let mut n = SECURITY_MAX_SID_SIZE;
    // SAFETY: `buf` is SECURITY_MAX_SID_SIZE bytes, which `n` says.
    if unsafe { CreateWellKnownSid(kind, std::ptr::null_mut(), buf.as_mut_ptr().cast(), &mut n) }
        == 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(buf[..n as usize].to_vec())
}

/// Replaces the access control list of `path` with one entry: full access for the user this
/// process runs as, nothing inherited from the parent (a directory's entry is inherited by what
/// is created in it).
pub(crate) fn restrict_to_owner(path: &Path, directory: bool) -> io::Result<()> {
    let sid = current_user_sid()?;
    let len = std::mem::size_of::<ACL>() + std::mem::size_of::<ACCESS_ALLOWED_ACE>() + sid.len();
    let mut acl = vec![0u64; len.div_ceil(8)];
    let flags = if directory {
        OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE
    } else {
        NO_INHERITANCE
    };
    // SAFETY: `acl` is `len` bytes, enough for the header and one entry with this SID; the SID
    // bytes outlive the calls; the path is NUL-terminated.
    unsafe {
        if InitializeAcl(acl.as_mut_ptr().cast(), len as u32, ACL_REVISION) == 0 {
            return Err(io::Error::last_os_error());
        }
        if AddAccessAllowedAceEx(
            acl.as_mut_ptr().cast(),
            ACL_REVISION,
            flags,
            FILE_ALL_ACCESS,
            sid.as_ptr() as PSID,
        ) == 0
        {
            return Err(io::Error::last_os_error());
        }
        let err = SetNamedSecurityInfoW(
            wide(path).as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            acl.as_ptr().cast(),
            std::ptr::null(),
        );
        if err != 0 {
            return Err(io::Error::from_raw_os_error(err as i32));
        }
    }
    Ok(())
}

/// How many entries of the access control list of `path` let in an account other than this
/// user, SYSTEM and the Administrators (who can read any file anyway); `usize::MAX` when the file
/// has no list at all (everyone may open it).
pub(crate) fn others_allowed(path: &Path) -> io::Result<usize> {
    let known = [
        current_user_sid()?,
        well_known(WinLocalSystemSid)?,
        well_known(WinBuiltinAdministratorsSid)?,
    ];
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: the path is NUL-terminated; the list pointer points into the descriptor, freed by
    // `Local` after the last use.
    unsafe {
        let err = GetNamedSecurityInfoW(
            wide(path).as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        );
        if err != 0 {
            return Err(io::Error::from_raw_os_error(err as i32));
        }
        let _sd = Local(sd);
        if dacl.is_null() {
            return Ok(usize::MAX);
        }
        let mut info = ACL_SIZE_INFORMATION::default();
        if GetAclInformation(
            dacl,
            (&mut info as *mut ACL_SIZE_INFORMATION).cast(),
            std::mem::size_of::<ACL_SIZE_INFORMATION>() as u32,
            AclSizeInformation,
        ) == 0
        {
            return Err(io::Error::last_os_error());
        }
        let mut others = 0;
        for i in 0..info.AceCount {
            let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
            if GetAce(dacl, i, &mut ace) == 0 {
                return Err(io::Error::last_os_error());
            }
            let header = &*(ace as *const ACE_HEADER);
            if !ALLOWING_ACE_TYPES.contains(&header.AceType) {
                continue;
            }
            if header.AceType != 0 {
                // Object and callback entries: not read further, counted as another account.
                others += 1;
                continue;
            }
            let allowed = &*(ace as *const ACCESS_ALLOWED_ACE);
            let sid = (&allowed.SidStart as *const u32) as PSID;
            if !known.iter().any(|k| EqualSid(sid, k.as_ptr() as PSID) != 0) {
                others += 1;
            }
        }
        Ok(others)
    }
}
