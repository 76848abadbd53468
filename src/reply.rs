//! Reply rendering: the one place that turns a policy decision (a segment) into the attributes a
//! given vendor's switch understands (RFC 3580 VLAN, vendor role, Filter-Id, Session-Timeout).

use crate::config::Client;
use wardgate_policy::Segment;
use wardgate_radius::{Packet, attr, tagged_integer, tagged_string, vendor};

const TUNNEL_TYPE_VLAN: u32 = 13;
const TUNNEL_MEDIUM_IEEE_802: u32 = 6;
const TERMINATION_ACTION_RADIUS_REQUEST: u32 = 1;

/// Where a vendor expects the segment's role (policy) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoleAttr {
    FilterId,
    Vsa(u32, u8),
}

fn role_attribute(vendor_name: &str) -> RoleAttr {
    match vendor_name {
        "aruba" => RoleAttr::Vsa(vendor::ARUBA, 1), // Aruba-User-Role
        "hp" => RoleAttr::Vsa(vendor::HP, 25),      // HP-User-Role
        "cisco-wlc" => RoleAttr::Vsa(vendor::AIRESPACE, 6), // Airespace-ACL-Name
        "ruckus" => RoleAttr::Vsa(vendor::RUCKUS, 1), // Ruckus-User-Groups
        "fortinet" => RoleAttr::Vsa(vendor::FORTINET, 1), // Fortinet-Group-Name
        // Cisco IOS ACL name, Meraki group policy, Juniper filter, Extreme policy: Filter-Id.
        _ => RoleAttr::FilterId,
    }
}

/// Adds the segment's attributes for `client`'s vendor to `reply`.
pub fn render_segment(reply: &mut Packet, segment: &Segment, client: &Client) {
    if let Some(vlan) = segment.vlan {
        reply.add(
            attr::TUNNEL_TYPE,
            tagged_integer(0, TUNNEL_TYPE_VLAN).to_vec(),
        );
        reply.add(
            attr::TUNNEL_MEDIUM_TYPE,
            tagged_integer(0, TUNNEL_MEDIUM_IEEE_802).to_vec(),
        );
        reply.add(
            attr::TUNNEL_PRIVATE_GROUP_ID,
            tagged_string(0, vlan.get().to_string().as_bytes(), client.tag_zero_octet),
        );
    }
    let mut filter_id_done = false;
    if let Some(role) = segment.roles.get(&client.vendor) {
        match role_attribute(&client.vendor) {
            RoleAttr::FilterId => {
                reply.add(attr::FILTER_ID, role.as_bytes().to_vec());
                filter_id_done = true;
            }
            RoleAttr::Vsa(v, t) => {
                // Names longer than a VSA holds were refused when the policy loaded; a failure
                // here would leave the role off, so log it rather than send a partial reply.
                if let Err(e) = reply.add_vsa(v, t, role.as_bytes()) {
                    tracing::error!(segment = %segment.name, "role attribute not sent: {e}");
                }
            }
        }
    }
    if let (Some(f), false) = (&segment.filter_id, filter_id_done) {
        reply.add(attr::FILTER_ID, f.as_bytes().to_vec());
    }
    if let Some(t) = segment.session_timeout {
        reply.add(attr::SESSION_TIMEOUT, t.to_be_bytes().to_vec());
        // Re-authenticate when the timer ends instead of ending the session (RFC 2865 5.29), as
        // ISE's reauthentication timer does: a pump mid-infusion keeps its link.
        reply.add(
            attr::TERMINATION_ACTION,
            TERMINATION_ACTION_RADIUS_REQUEST.to_be_bytes().to_vec(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MabPassword;
    use std::collections::BTreeMap;
    use wardgate_radius::{Code, SharedSecret};
    use wardgate_types::{SegmentName, VlanId};

    fn client(vendor: &str, tag_zero_octet: bool) -> Client {
        Client {
            name: "sw".into(),
            network: "127.0.0.1/32".parse().unwrap(),
            secret: SharedSecret::new(b"x".to_vec()),
            vendor: vendor.into(),
            require_message_authenticator: true,
            limit_proxy_state: true,
            mab_password: MabPassword::Mac,
            tag_zero_octet,
            test_secret: false,
        }
    }

    fn segment() -> Segment {
        Segment {
            name: SegmentName::new("clinical-iot"),
            vlan: Some(VlanId::new(120).unwrap()),
            roles: BTreeMap::from([
                ("aruba".to_string(), "clinical-iot".to_string()),
                ("cisco".to_string(), "ACL-CLINICAL".to_string()),
            ]),
            filter_id: None,
            session_timeout: Some(28800),
        }
    }

    fn encoded_attrs(p: &Packet) -> Vec<(u8, Vec<u8>)> {
        p.attributes
            .iter()
            .map(|a| (a.typ, a.value.clone()))
            .collect()
    }

    #[test]
    fn rfc3580_vlan_exactly_as_protocol_notes() {
        let mut p = Packet::new(Code::ACCESS_ACCEPT, 1, [0; 16]);
        render_segment(&mut p, &segment(), &client("generic", false));
        assert_eq!(
            encoded_attrs(&p),
            vec![
                (64, vec![0, 0, 0, 13]),
                (65, vec![0, 0, 0, 6]),
                (81, b"120".to_vec()),
                (27, 28800u32.to_be_bytes().to_vec()),
                (29, 1u32.to_be_bytes().to_vec()),
            ]
        );
    }

    #[test]
    fn vendor_roles() {
        let mut p = Packet::new(Code::ACCESS_ACCEPT, 1, [0; 16]);
        render_segment(&mut p, &segment(), &client("aruba", false));
        let vsas: Vec<_> = p
            .vsas()
            .map(|v| (v.vendor, v.typ, v.value.to_vec()))
            .collect();
        assert_eq!(vsas, vec![(14823, 1, b"clinical-iot".to_vec())]);

        let mut p = Packet::new(Code::ACCESS_ACCEPT, 1, [0; 16]);
        render_segment(&mut p, &segment(), &client("cisco", false));
        assert_eq!(p.attr(attr::FILTER_ID), Some(&b"ACL-CLINICAL"[..]));

        // No role for this vendor: VLAN only.
        let mut p = Packet::new(Code::ACCESS_ACCEPT, 1, [0; 16]);
        render_segment(&mut p, &segment(), &client("hp", false));
        assert_eq!(p.vsas().count(), 0);
        assert_eq!(p.attr(attr::FILTER_ID), None);
    }

    #[test]
    fn tag_zero_octet_option() {
        let mut p = Packet::new(Code::ACCESS_ACCEPT, 1, [0; 16]);
        render_segment(&mut p, &segment(), &client("dlink", true));
        assert_eq!(p.attr(attr::TUNNEL_PRIVATE_GROUP_ID), Some(&b"\x00120"[..]));
    }
}
