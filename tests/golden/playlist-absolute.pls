[playlist]
File1=/srv/music/Rocky IV/01 Training Montage.flac
Title1=Vince DiCola - Training Montage
Length1=214
File2=/srv/music/Beyoncé & Björk/Ça plane #1 (50% mix).mp3
Title2=Beyoncé & Björk - Ça plane
Length2=188
File3=/srv/lists/same folder.m4a
Title3=Tab here & <xml> "quotes"
Length3=60
NumberOfEntries=3
Version=2
