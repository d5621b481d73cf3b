"""Custom actions of the shop assistant (rasa-sdk action server).

Actions write no customer text themselves: they send domain responses,
`utter_message(response="utter_x", **variables)`, whose variables are the shop's data or
other responses (actions.common.part, actions.common.joined). Rasa renders them with
brand.nlg.BrandNLG, which puts the whole text, and the titles of the buttons an action adds,
in the brand tone (brand/tone.yml) and then through the advertising-law guard
(compliance/rules.yml); the cards an action sends (json_message) likewise. The texts
themselves are in domain.yml, grouped by topic. Still worded in Python: how values are
written (dates in words and 「…等2件商品」, actions/text.py and actions.common), the address
亲 when no name is known, and what goes to agents and the shop rather than to customers.
"""
