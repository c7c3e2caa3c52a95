//! ECDSA service account keys on P-256 and P-384 (ES256, ES384), through the RustCrypto
//! `p256` and `p384` crates that jsonwebtoken's `rust_crypto` backend already brings.
//!
//! kube-apiserver reads ECDSA keys from `--service-account-key-file` and
//! `--service-account-signing-key-file` as it reads RSA ones (keyutil.ParsePublicKeysPEM,
//! `BEGIN PUBLIC KEY`, `BEGIN EC PRIVATE KEY`, PKCS#8 `BEGIN PRIVATE KEY`), signs with ES256 on
//! P-256 and ES384 on P-384 (pkg/serviceaccount/jwt.go), and publishes the key as go-jose
//! marshals it: `crv`, `x` and `y`, each coordinate padded to the curve's size
//! (pkg/serviceaccount/openidmetadata.go). A key is kept here as its uncompressed SEC1 point,
//! from which the SubjectPublicKeyInfo (and so the `kid`) and the JWK coordinates follow.
//! P-521 (ES512), which the apiserver also takes, is refused with a clear message: no P-521
//! crate is in the dependency tree.

use p256::elliptic_curve::ALGORITHM_OID;
use p256::pkcs8::spki::SubjectPublicKeyInfoRef;
use p256::pkcs8::{AssociatedOid, ObjectIdentifier, PrivateKeyInfo};

/// The curves whose keys are read, written and published here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

impl Curve {
    /// The JWK `crv`.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    /// The JWS algorithm kube-apiserver signs with on this curve.
    pub fn algorithm(self) -> &'static str {
        match self {
            Curve::P256 => "ES256",
            Curve::P384 => "ES384",
        }
    }

    /// The curve of a JWK `crv`.
    pub fn from_name(name: &str) -> Option<Curve> {
        [Curve::P256, Curve::P384]
            .into_iter()
            .find(|curve| curve.name() == name)
    }

    /// The curve of a named-curve OID, or what to say about another one.
    fn from_oid(oid: ObjectIdentifier) -> Result<Curve, String> {
        if oid == p256::NistP256::OID {
            Ok(Curve::P256)
        } else if oid == p384::NistP384::OID {
            Ok(Curve::P384)
        } else {
            Err(unsupported_curve(&oid.to_string()))
        }
    }

    fn ops(self) -> &'static dyn CurveOps {
        match self {
            Curve::P256 => &P256,
            Curve::P384 => &P384,
        }
    }
}

/// The message for a curve other than P-256 and P-384.
fn unsupported_curve(oid: &str) -> String {
    let name = match oid {
        "1.3.132.0.35" => "P-521 (ES512)".to_string(),
        other => format!("with OID {other}"),
    };
    format!("an EC key on curve {name}: only P-256 (ES256) and P-384 (ES384) keys are supported")
}

/// What each curve's crate does for us; every point it returns is uncompressed SEC1.
trait CurveOps: Sync {
    fn point_from_spki(&self, der: &[u8]) -> Result<Vec<u8>, String>;
    fn point_from_pkcs8(&self, der: &[u8]) -> Result<Vec<u8>, String>;
    fn point_from_sec1_private(&self, der: &[u8]) -> Result<Vec<u8>, String>;
    fn checked_point(&self, sec1: &[u8]) -> Result<Vec<u8>, String>;
    fn spki_der(&self, point: &[u8]) -> Vec<u8>;
    fn generate(&self) -> Result<(String, Vec<u8>), String>;
}

/// The same code for each curve's crate, whose types have the same names.
macro_rules! curve_ops {
    ($ops:ident, $krate:ident) => {
        struct $ops;

        impl CurveOps for $ops {
            fn point_from_spki(&self, der: &[u8]) -> Result<Vec<u8>, String> {
                use $krate::pkcs8::DecodePublicKey as _;
                let key = $krate::PublicKey::from_public_key_der(der).map_err(|e| e.to_string())?;
                Ok(uncompressed(&key))
            }

            fn point_from_pkcs8(&self, der: &[u8]) -> Result<Vec<u8>, String> {
                use $krate::pkcs8::DecodePrivateKey as _;
                let key = $krate::SecretKey::from_pkcs8_der(der).map_err(|e| e.to_string())?;
                Ok(uncompressed(&key.public_key()))
            }

            fn point_from_sec1_private(&self, der: &[u8]) -> Result<Vec<u8>, String> {
                let key = $krate::SecretKey::from_sec1_der(der).map_err(|e| e.to_string())?;
                Ok(uncompressed(&key.public_key()))
            }

            fn checked_point(&self, sec1: &[u8]) -> Result<Vec<u8>, String> {
                $krate::PublicKey::from_sec1_bytes(sec1)
                    .map(|key| uncompressed(&key))
                    .map_err(|_| "the point is not on the curve".to_string())
            }

            fn spki_der(&self, point: &[u8]) -> Vec<u8> {
                use $krate::pkcs8::EncodePublicKey as _;
                $krate::PublicKey::from_sec1_bytes(point)
                    .ok()
                    .and_then(|key| key.to_public_key_der().ok())
                    .map(|der| der.as_bytes().to_vec())
                    .unwrap_or_default()
            }

            fn generate(&self) -> Result<(String, Vec<u8>), String> {
                use $krate::pkcs8::EncodePrivateKey as _;
                let key = $krate::SecretKey::random(&mut rsa::rand_core::OsRng);
                let pem = key
                    .to_pkcs8_pem($krate::pkcs8::LineEnding::LF)
                    .map_err(|e| e.to_string())?;
                Ok((pem.to_string(), uncompressed(&key.public_key())))
            }
        }
    };
}

/// The uncompressed SEC1 encoding of a public key, as Go's `elliptic.Marshal` writes it.
fn uncompressed<C>(key: &p256::elliptic_curve::PublicKey<C>) -> Vec<u8>
where
    C: p256::elliptic_curve::CurveArithmetic,
    p256::elliptic_curve::AffinePoint<C>: p256::elliptic_curve::sec1::FromEncodedPoint<C>
        + p256::elliptic_curve::sec1::ToEncodedPoint<C>,
    p256::elliptic_curve::FieldBytesSize<C>: p256::elliptic_curve::sec1::ModulusSize,
{
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    key.to_encoded_point(false).as_bytes().to_vec()
}

curve_ops!(P256Ops, p256);
curve_ops!(P384Ops, p384);
static P256: P256Ops = P256Ops;
static P384: P384Ops = P384Ops;

/// An ECDSA public key: its curve and its uncompressed SEC1 point (`04 || x || y`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcKey {
    curve: Curve,
    point: Vec<u8>,
}

impl EcKey {
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// `x` and `y`, each as long as the curve's field.
    pub fn coordinates(&self) -> (&[u8], &[u8]) {
        let half = (self.point.len() - 1) / 2;
        (&self.point[1..=half], &self.point[1 + half..])
    }

    /// The DER SubjectPublicKeyInfo: id-ecPublicKey, the named curve, the uncompressed point
    /// (what Go's `x509.MarshalPKIXPublicKey` writes, so the kid is the apiserver's).
    pub fn spki_der(&self) -> Vec<u8> {
        self.curve.ops().spki_der(&self.point)
    }

    /// The key of a DER SubjectPublicKeyInfo whose algorithm is id-ecPublicKey.
    pub fn from_spki(der: &[u8]) -> Result<EcKey, String> {
        let info = SubjectPublicKeyInfoRef::try_from(der).map_err(|e| e.to_string())?;
        let curve = named_curve(info.algorithm.parameters_oid().ok())?;
        if info.subject_public_key.raw_bytes().first() != Some(&0x04) {
            return Err("a compressed EC point, which kube-apiserver (Go's x509) cannot read: write it uncompressed with `openssl ec -pubin -in KEY -pubout -conv_form uncompressed`".into());
        }
        EcKey::on(curve, curve.ops().point_from_spki(der)?)
    }

    /// The public half of a PKCS#8 EC private key (`BEGIN PRIVATE KEY`).
    pub fn from_pkcs8(der: &[u8]) -> Result<EcKey, String> {
        let info = PrivateKeyInfo::try_from(der).map_err(|e| e.to_string())?;
        let curve = named_curve(info.algorithm.parameters_oid().ok())?;
        EcKey::on(curve, curve.ops().point_from_pkcs8(der)?)
    }

    /// The public half of a SEC1 private key (`BEGIN EC PRIVATE KEY`, as
    /// `openssl ecparam -genkey` writes it), tried on each curve.
    pub fn from_sec1_private(der: &[u8]) -> Result<EcKey, String> {
        for curve in [Curve::P256, Curve::P384] {
            if let Ok(point) = curve.ops().point_from_sec1_private(der) {
                return EcKey::on(curve, point);
            }
        }
        Err("unreadable, or on a curve other than P-256 and P-384 (`openssl pkey -in KEY -noout -text` names it)".into())
    }

    /// The key of a JWK's `x` and `y`, checked to be on the curve.
    pub fn from_coordinates(curve: Curve, x: &[u8], y: &[u8]) -> Result<EcKey, String> {
        let mut point = vec![0x04];
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        EcKey::on(curve, point)
    }

    fn on(curve: Curve, point: Vec<u8>) -> Result<EcKey, String> {
        let point = curve.ops().checked_point(&point)?;
        Ok(EcKey { curve, point })
    }
}

/// The curve of an AlgorithmIdentifier's parameters, which must name one.
fn named_curve(parameters: Option<ObjectIdentifier>) -> Result<Curve, String> {
    let oid = parameters.ok_or("an EC key without a named curve")?;
    Curve::from_oid(oid)
}

/// Whether a DER SubjectPublicKeyInfo or PKCS#8 algorithm is id-ecPublicKey.
pub fn is_ec_algorithm(oid: ObjectIdentifier) -> bool {
    oid == ALGORITHM_OID
}

/// A new ECDSA signing key: the private key as PEM PKCS#8 (`BEGIN PRIVATE KEY`, which
/// kube-apiserver's --service-account-signing-key-file reads) and its public key.
pub fn generate(curve: Curve) -> Result<(String, EcKey), String> {
    let (pem, point) = curve.ops().generate()?;
    Ok((pem, EcKey { curve, point }))
}
