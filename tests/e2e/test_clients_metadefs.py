"""Metadata definitions through the real clients: python-glanceclient (which checks what it
sends against the served schemas), the `glance md-*` commands, openstacksdk and the
`openstack image metadef` commands."""

from __future__ import annotations

from tests.e2e.conftest import (
    ADMIN,
    IGNORE_SDK_DEPRECATIONS,
    READER_A,
    glance_api,
    glance_cli,
    openstack_cli,
    sdk,
)

pytestmark = IGNORE_SDK_DEPRECATIONS


def test_glanceclient_builds_and_reads_a_namespace(embedded_server: str) -> None:
    glance = glance_api(embedded_server, ADMIN)
    glance.metadefs_namespace.create(namespace="gc", visibility="public", description="d")
    glance.metadefs_resource_type.associate("gc", name="OS::Glance::Image", prefix="gc_")
    glance.metadefs_property.create("gc", name="speed", type="integer", title="Speed")
    glance.metadefs_object.create(
        "gc", name="Box", properties={"size": {"type": "string", "title": "Size"}}
    )
    # The client's call for several tags is a generator: it sends when read. (Its `append`
    # sends a header whose value is not text, which its HTTP layer cannot send.)
    assert len(list(glance.metadefs_tag.create_multiple("gc", tags=["a", "b", "c"]))) == 3
    shown = glance.metadefs_namespace.get("gc", resource_type="OS::Glance::Image")
    assert list(shown["properties"]) == ["gc_speed"]
    assert sorted(t["name"] for t in shown["tags"]) == ["a", "b", "c"]
    assert [o.name for o in glance.metadefs_object.list("gc")] == ["Box"]
    assert [p.name for p in glance.metadefs_property.list("gc")] == ["speed"]
    assert "OS::Glance::Image" in [t.name for t in glance.metadefs_resource_type.list()]
    reader = glance_api(embedded_server, READER_A)
    assert "gc" in [n.namespace for n in reader.metadefs_namespace.list()]
    glance.metadefs_namespace.update("gc", namespace="gc2", visibility="private")
    assert "gc2" not in [n.namespace for n in reader.metadefs_namespace.list()]
    glance.metadefs_namespace.delete("gc2")
    assert [n.namespace for n in glance.metadefs_namespace.list()] == []


def test_glanceclient_changes_and_deletes_what_a_namespace_holds(embedded_server: str) -> None:
    glance = glance_api(embedded_server, ADMIN)
    glance.metadefs_namespace.create(namespace="gcu", description="d")
    glance.metadefs_property.create("gcu", name="p", type="string", title="P")
    glance.metadefs_object.create("gcu", name="o", description="an o")
    glance.metadefs_tag.create("gcu", "t")
    glance.metadefs_resource_type.associate("gcu", name="OS::Nova::Flavor")
    # Each update reads the item, changes it and sends all of it back, as the client does.
    assert glance.metadefs_namespace.update("gcu", description="e").description == "e"
    assert glance.metadefs_property.update("gcu", "p", title="Q").title == "Q"
    assert glance.metadefs_object.update("gcu", "o", name="o2").name == "o2"
    assert glance.metadefs_tag.update("gcu", "t", name="t2").name == "t2"
    assert glance.metadefs_property.get("gcu", "p").title == "Q"
    assert glance.metadefs_object.get("gcu", "o2").description == "an o"
    assert glance.metadefs_tag.get("gcu", "t2").name == "t2"
    assert [t.name for t in glance.metadefs_tag.list("gcu")] == ["t2"]
    assert [a.name for a in glance.metadefs_resource_type.get("gcu")] == ["OS::Nova::Flavor"]
    glance.metadefs_property.delete("gcu", "p")
    glance.metadefs_object.delete("gcu", "o2")
    glance.metadefs_tag.delete("gcu", "t2")
    glance.metadefs_resource_type.deassociate("gcu", "OS::Nova::Flavor")
    held = ("properties", "objects", "tags", "resource_type_associations")
    assert not set(held) & set(glance.metadefs_namespace.get("gcu"))
    glance.metadefs_property.create("gcu", name="p", type="string", title="P")
    glance.metadefs_object.create("gcu", name="o")
    glance.metadefs_tag.create("gcu", "t")
    glance.metadefs_property.delete_all("gcu")
    glance.metadefs_object.delete_all("gcu")
    glance.metadefs_tag.delete_all("gcu")
    assert not set(held) & set(glance.metadefs_namespace.get("gcu"))


def test_the_glance_md_commands(catalog: str) -> None:
    glance = glance_cli(catalog)
    glance("md-namespace-create", "cli-ns", "--visibility", "public")
    glance(
        "md-property-create",
        "cli-ns",
        "--name",
        "p",
        "--title",
        "P",
        "--type",
        "string",
        "--schema",
        '{"type": "string"}',
    )
    glance("md-object-create", "cli-ns", "--name", "o", "--schema", '{"description": "an o"}')
    glance("md-tag-create-multiple", "cli-ns", "--names", "x,y")
    glance("md-resource-type-associate", "cli-ns", "--name", "OS::Nova::Flavor")
    assert "cli-ns" in glance("md-namespace-list")
    shown = glance("md-namespace-show", "cli-ns")
    assert "OS::Nova::Flavor" in shown
    assert "o" in glance("md-object-list", "cli-ns")
    assert "x" in glance("md-tag-list", "cli-ns")
    glance("md-namespace-delete", "cli-ns")
    assert "cli-ns" not in glance("md-namespace-list")


def test_openstacksdk_metadef_calls(embedded_server: str) -> None:
    conn = sdk(embedded_server, ADMIN)
    namespace = conn.image.create_metadef_namespace(namespace="sdk-ns", visibility="public")
    assert namespace.namespace == "sdk-ns"
    conn.image.create_metadef_object(namespace, name="Obj", description="x")
    conn.image.create_metadef_property(namespace, name="p", type="string", title="P")
    conn.image.create_metadef_resource_type_association(namespace, name="OS::Glance::Image")
    conn.image.add_tag_to_metadef_namespace(namespace, "t")
    assert [o.name for o in conn.image.metadef_objects(namespace)] == ["Obj"]
    assert "p" in [p.name for p in conn.image.metadef_properties(namespace)]
    assert "OS::Glance::Image" in [t.name for t in conn.image.metadef_resource_types()]
    shown = conn.image.get_metadef_namespace("sdk-ns")
    assert [t["name"] for t in shown.tags] == ["t"]
    assert conn.image.get_metadef_namespace_schema().name == "namespace"
    conn.image.delete_all_metadef_objects(namespace)
    conn.image.delete_metadef_namespace(namespace)
    assert "sdk-ns" not in [n.namespace for n in conn.image.metadef_namespaces()]


def test_openstacksdk_changes_and_deletes_what_a_namespace_holds(embedded_server: str) -> None:
    conn = sdk(embedded_server, ADMIN)
    namespace = conn.image.create_metadef_namespace(namespace="sdku", description="d")
    conn.image.create_metadef_object(namespace, name="o", description="an o")
    conn.image.create_metadef_property(namespace, name="p", type="string", title="P")
    conn.image.create_metadef_resource_type_association(namespace, name="OS::Nova::Flavor")
    conn.image.add_tag_to_metadef_namespace(namespace, "t")
    conn.image.add_tag_to_metadef_namespace(namespace, "u")
    assert conn.image.update_metadef_namespace(namespace, description="e").description == "e"
    changed = conn.image.update_metadef_object("o", namespace, name="o", description="x")
    assert changed.description == "x"
    assert conn.image.get_metadef_object("o", namespace).description == "x"
    prop = conn.image.update_metadef_property("p", namespace, name="p", type="string", title="Q")
    assert prop.title == "Q"
    assert conn.image.get_metadef_property("p", namespace).title == "Q"
    associations = conn.image.metadef_resource_type_associations(namespace)
    assert [a.name for a in associations] == ["OS::Nova::Flavor"]
    conn.image.delete_metadef_resource_type_association("OS::Nova::Flavor", namespace)
    conn.image.delete_metadef_property("p", namespace)
    conn.image.delete_metadef_object("o", namespace)
    conn.image.remove_tag_from_metadef_namespace(namespace, "t")
    assert [t["name"] for t in conn.image.get_metadef_namespace("sdku").tags] == ["u"]
    conn.image.remove_tags_from_metadef_namespace(namespace)
    conn.image.create_metadef_property(namespace, name="p", type="string", title="P")
    conn.image.delete_all_metadef_properties(namespace)
    # Read as JSON: the SDK's namespaces without tags share one default list, which its
    # add_tag_to_metadef_namespace above appended to.
    shown = conn.image.get("/metadefs/namespaces/sdku").json()
    assert not {"properties", "objects", "tags", "resource_type_associations"} & set(shown)


def test_the_openstack_image_metadef_commands(catalog: str, keystone: str) -> None:
    osc = openstack_cli(catalog, keystone)
    osc("image", "metadef", "namespace", "create", "osc-ns", "--public")
    osc("image", "metadef", "object", "create", "--namespace", "osc-ns", "thing")
    osc(
        "image",
        "metadef",
        "property",
        "create",
        "--name",
        "p",
        "--title",
        "P",
        "--type",
        "string",
        "--schema",
        "{}",
        "osc-ns",
    )
    names = [n["namespace"] for n in osc.json("image", "metadef", "namespace", "list")]
    assert "osc-ns" in names
    shown = osc.json("image", "metadef", "namespace", "show", "osc-ns")
    assert shown["namespace"] == "osc-ns"
    objects = osc.json("image", "metadef", "object", "list", "osc-ns")
    assert [o["name"] for o in objects] == ["thing"]
    osc("image", "metadef", "namespace", "delete", "osc-ns")
