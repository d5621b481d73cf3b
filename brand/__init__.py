"""The shop's voice: brand tone, empathic lines, and the Rasa NLG that applies both.

    brand.tone.apply(text) -> text in the tone of brand/tone.yml (env BRAND_TONE, BRAND_EMOJI)
    brand.empathy.line(situation, emotion, seed=...) -> an empathic line from brand/empathy.yml
    brand.nlg.BrandNLG -> endpoints.yml `nlg:`; tones and guards every utter_* response

Submodules are imported by name (brand.nlg imports Rasa, which the others do not need).
"""
