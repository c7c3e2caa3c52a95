//! ECDSA keys: every PEM form of one P-256 key gives the kid and JWK openssl computes, P-384
//! likewise, P-521 and compressed points are refused with a reason, JWKS entries read back,
//! and generated keys sign tokens that verify against their JWK.

use super::fixtures::Signer;
use super::*;
use serde_json::json;

/// The fixed P-256 key of [`fixtures::EC_PKCS8`], in the forms openssl writes
/// (`openssl pkey -pubout`, `openssl ec` for SEC1, `openssl req -x509` for a certificate).
const P256_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHimOtcgCzkz/zM4YzZH1w3/f6ebw
LVmdHP+ZA3Gj0sSEArW0mLq9lwHXLCCbN8duqICavmGbvJ4oSeWp0y1JvA==
-----END PUBLIC KEY-----
";
const P256_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIPsMhezX5TuGjNwU1A6knYu01xsnwk6pv0+TrBifuivhoAoGCCqGSM49
AwEHoUQDQgAEHimOtcgCzkz/zM4YzZH1w3/f6ebwLVmdHP+ZA3Gj0sSEArW0mLq9
lwHXLCCbN8duqICavmGbvJ4oSeWp0y1JvA==
-----END EC PRIVATE KEY-----
";
const P256_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIUDqS0Fqa+XElmASHIglgUrMkHAbswCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJc2Etc2lnbmVyMB4XDTI2MTEzMDAwMjg0NVoXDTM2MTEyNzAw
Mjg0NVowFDESMBAGA1UEAwwJc2Etc2lnbmVyMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEHimOtcgCzkz/zM4YzZH1w3/f6ebwLVmdHP+ZA3Gj0sSEArW0mLq9lwHX
LCCbN8duqICavmGbvJ4oSeWp0y1JvKNTMFEwHQYDVR0OBBYEFKNsadwb07Rxsrzi
BNhO3fDMEDJ0MB8GA1UdIwQYMBaAFKNsadwb07RxsrziBNhO3fDMEDJ0MA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAJpXR0B+bHutbkHnq7lSA2Rt
98LNC7VwYYHoHZteFZU1AiBQurK1ttnauMEfOktj4aCw/inqZlpJV8PzfiNuqIQF
Zw==
-----END CERTIFICATE-----
";
/// `openssl pkey -pubin -in k.pub -outform DER | openssl dgst -sha256 -binary | base64url`;
/// `x` and `y` are the two halves of the point after its 0x04, in base64url.
const P256_KID: &str = "B2fQXgtLeaiKoRIIrloezCuOP7boMXZek8QDbnHs1Sk";
const P256_X: &str = "HimOtcgCzkz_zM4YzZH1w3_f6ebwLVmdHP-ZA3Gj0sQ";
const P256_Y: &str = "hAK1tJi6vZcB1ywgmzfHbqiAmr5hm7yeKEnlqdMtSbw";

/// `openssl ecparam -name secp384r1 -genkey`: an EC PARAMETERS block, then the key.
const P384_SEC1: &str = "-----BEGIN EC PARAMETERS-----
BgUrgQQAIg==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDChkklwEt/ZMWFfDUqnSnOivIFmQf3opAX+DiFj29aIm9mmIcdswqfC
gi7Y7LETAqqgBwYFK4EEACKhZANiAAQHfusJBgqnSQl4bpVZXw1XAOkmUH98sZct
cZ67uOiwPLvWHifEoksBCY23WmGvM0m7/pxRbqUu7nY5OFQ7DVs7t/YaIH5RLAZJ
8qCWxBpq5rKsOlRa/5x3J6VHWCh41RY=
-----END EC PRIVATE KEY-----
";
const P384_KID: &str = "ey2gS8Qj44CwU4_1jAFlCl5bdVh0Ifscrsr6wLcheEQ";
const P384_X: &str = "B37rCQYKp0kJeG6VWV8NVwDpJlB_fLGXLXGeu7josDy71h4nxKJLAQmNt1phrzNJ";
const P384_Y: &str = "u_6cUW6lLu52OThUOw1bO7f2GiB-USwGSfKglsQaauayrDpUWv-cdyelR1goeNUW";

/// `openssl ecparam -name secp521r1 -genkey -noout | openssl pkey -pubout`.
const P521_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQBW+cBhOS1/qQ1ZS0trFzY6oTcDwzq
ua2OPcf0sR+8XLpICRNWiO84h4DpibCYqS4JXEVW7mG6o7M9+VRYSzEkt9sA4MlP
I6NHIbEn5bH4CuzAam6wmEmEXePKh+ki/aXWCDYXkp4D69R8vbIYHABF8MO+EEZt
aXHZ35mZzKM+9wt6OQs=
-----END PUBLIC KEY-----
";

fn pkcs8_pem() -> String {
    let der = base64::engine::general_purpose::STANDARD
        .decode(fixtures::EC_PKCS8)
        .unwrap();
    pem::encode(&pem::Pem::new("PRIVATE KEY", der))
}

#[test]
fn every_form_of_a_p256_key_gives_openssls_kid_and_the_apiservers_jwk() {
    for text in [
        P256_PUBLIC.to_string(),
        P256_SEC1.to_string(),
        P256_CERTIFICATE.to_string(),
        pkcs8_pem(),
    ] {
        let keys = parse_pem(text.as_bytes(), "k").unwrap();
        assert_eq!(keys.len(), 1, "{text}");
        assert_eq!(keys[0].kid, P256_KID, "{text}");
        assert_eq!(keys[0].key.algorithm(), "ES256");
        assert_eq!(keys[0].key.describe(), "ECDSA P-256");
        assert_eq!(keys[0].to_pem(), P256_PUBLIC);
        // go-jose's members and order, as kube-apiserver serves them.
        assert_eq!(
            keys[0].jwk(P256_KID).to_string(),
            json!({"use": "sig", "kty": "EC", "kid": P256_KID, "crv": "P-256", "alg": "ES256", "x": P256_X, "y": P256_Y}).to_string()
        );
    }
    let private = parse_private_pem(P256_SEC1.as_bytes(), "k").unwrap();
    assert_eq!(private.kid, P256_KID);
}

#[test]
fn p384_keys_after_their_ec_parameters_block() {
    let keys = parse_pem(P384_SEC1.as_bytes(), "k").unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid, P384_KID);
    assert_eq!(
        keys[0].jwk(""),
        json!({"use": "sig", "kty": "EC", "kid": "", "crv": "P-384", "alg": "ES384", "x": P384_X, "y": P384_Y})
    );
    assert_eq!(
        parse_private_pem(P384_SEC1.as_bytes(), "k").unwrap(),
        keys[0]
    );
    let only_parameters = P384_SEC1.split("-----BEGIN EC PRIVATE").next().unwrap();
    assert_eq!(
        parse_pem(only_parameters.as_bytes(), "k")
            .unwrap_err()
            .to_string(),
        format!("k: only EC PARAMETERS, no key: {FORMATS}")
    );
}

#[test]
fn other_curves_and_compressed_points_are_refused_with_the_reason() {
    let error = parse_pem(P521_PUBLIC.as_bytes(), "--public-key p521.pub").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "--public-key p521.pub: the PUBLIC KEY block is unreadable (an EC key on curve P-521 (ES512): only P-256 (ES256) and P-384 (ES384) keys are supported): {FORMATS}"
        )
    );
    // The same key with a compressed point: Go's x509 refuses it, and so does this.
    let der = pem::parse(P256_PUBLIC).unwrap().into_contents();
    let x = &der[der.len() - 64..der.len() - 32];
    let mut compressed = vec![0x30, 0x39];
    compressed.extend_from_slice(&der[2..23]); // the AlgorithmIdentifier
    compressed.extend_from_slice(&[0x03, 0x22, 0x00, 0x02]);
    compressed.extend_from_slice(x);
    let block = pem::encode(&pem::Pem::new("PUBLIC KEY", compressed));
    let error = parse_pem(block.as_bytes(), "k").unwrap_err().to_string();
    assert!(error.contains("a compressed EC point"), "{error}");
    let jwk = json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"});
    let set = json!({ "keys": [jwk] }).to_string();
    assert_eq!(
        parse_jwks(&set, "jwks").unwrap_err().to_string(),
        "jwks: key 0 of the JWKS is unusable: curve P-521: only P-256 (ES256) and P-384 (ES384) keys are supported"
    );
    let off_curve = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": P256_X, "y": P256_X}]});
    assert_eq!(
        parse_jwks(&off_curve.to_string(), "jwks")
            .unwrap_err()
            .to_string(),
        "jwks: key 0 of the JWKS is unusable: the point is not on the curve"
    );
}

#[test]
fn ec_jwks_read_back_with_the_computed_kid() {
    let keys = parse_pem(P256_PUBLIC.as_bytes(), "k").unwrap();
    let padded = json!({"kty": "EC", "crv": "P-256", "x": format!("{P256_X}="), "y": format!("{P256_Y}="), "kid": ""});
    let text = json!({"keys": [keys[0].jwk(P256_KID), padded]}).to_string();
    let (parsed, notes) = parse_jwks(&text, "jwks").unwrap();
    assert_eq!(parsed, keys, "the duplicate without kid collapses");
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn generated_ec_keys_load_back_and_sign_what_their_jwk_verifies() {
    for (algorithm, name, size) in [
        (SigningAlgorithm::Es256, "ES256", 32),
        (SigningAlgorithm::Es384, "ES384", 48),
    ] {
        let (private_pem, public) = generate(algorithm, 0).unwrap();
        assert!(private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(public.key.algorithm(), name);
        assert_eq!(
            parse_private_pem(private_pem.as_bytes(), "k").unwrap(),
            public
        );
        assert_eq!(
            parse_pem(public.to_pem().as_bytes(), "k").unwrap(),
            std::slice::from_ref(&public)
        );
        let x = public.jwk("")["x"].as_str().unwrap().to_string();
        assert_eq!(URL_SAFE_NO_PAD.decode(x).unwrap().len(), size);

        let signer = Signer::fresh_ec(algorithm);
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(signer.jwk.clone()).unwrap();
        let token = signer.token(&json!({"sub": "s"}));
        assert_eq!(verify(&token, &jwk), Ok(()));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(format!("{:?}", header.alg), name);
    }
}
