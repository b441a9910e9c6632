from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install", "didww_connector")
class TestCallsMenu(TransactionCase):
    """The Calls menu shows to the users with a softphone (and to administrators), and its empty page
    says what fills it for the user looking at it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env["didww.voip.provider"].create({"name": "Menu PBX"})
        cls.menu = cls.env.ref("didww_connector.didww_call_menu")
        cls.user = new_test_user(cls.env, login="didww_menu_user", groups="base.group_user")

    def sees_calls(self, user):
        return self.menu.id in self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()

    def empty_help(self, user):
        return self.env["didww.call"].with_user(user).get_empty_list_help("")

    def test_a_user_without_softphone_has_no_calls_menu(self):
        self.assertFalse(self.sees_calls(self.user))
        self.assertIn("once you have the softphone", self.empty_help(self.user))

    def test_the_calls_menu_follows_the_users_own_voip_settings(self):
        # the user sets them in Preferences (their own record, as the preferences dialog writes)
        self.user.with_user(self.user).write({"didww_voip_provider_id": self.provider.id,
                                              "didww_voip_username": "1001"})
        self.assertTrue(self.sees_calls(self.user))
        self.assertIn("phone icon in the top bar) are logged here", self.empty_help(self.user))
        self.user.with_user(self.user).write({"didww_voip_username": False})
        self.assertFalse(self.sees_calls(self.user), "no username, no softphone, no Calls menu")

    def test_a_user_created_with_voip_settings_sees_calls(self):
        user = self.env["res.users"].create({
            "name": "Carl Caller", "login": "didww_menu_carl", "didww_voip_provider_id": self.provider.id,
            "didww_voip_username": "1002", "groups_id": [(6, 0, [self.env.ref("base.group_user").id])]})
        self.assertTrue(self.sees_calls(user))

    def test_another_companys_provider_gives_no_calls_menu(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        provider = self.env["didww.voip.provider"].create({"name": "Other PBX", "company_id": other.id})
        self.user.write({"didww_voip_provider_id": provider.id, "didww_voip_username": "1003"})
        self.assertFalse(self.sees_calls(self.user))

    def test_a_portal_user_never_gets_the_calls_group(self):
        portal = new_test_user(self.env, login="didww_menu_portal", groups="base.group_portal")
        portal.sudo()._didww_sync_voip_group()
        group = self.env.ref("didww_connector.group_didww_softphone_user")
        self.assertNotIn(portal, group.users)

    def test_administrators_see_calls_and_are_told_how_users_get_the_softphone(self):
        admin = self.env.ref("base.user_admin")
        self.assertTrue(self.sees_calls(admin))
        self.assertIn("once they have a VoIP provider and username in their Preferences", self.empty_help(admin))

    def test_existing_softphone_users_get_the_menu_on_update(self):
        group = self.env.ref("didww_connector.group_didww_softphone_user")
        self.user.write({"didww_voip_provider_id": self.provider.id, "didww_voip_username": "1004"})
        group.users = [(3, self.user.id)]
        self.env["res.users"]._didww_sync_voip_group_all()
        self.assertIn(self.user, group.users)
