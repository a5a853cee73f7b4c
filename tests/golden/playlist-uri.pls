[playlist]
File1=file:///srv/music/Rocky%20IV/01%20Training%20Montage.flac
Title1=Vince DiCola - Training Montage
Length1=214
File2=file:///srv/music/Beyonce%CC%81%20%26%20Bjo%CC%88rk/%C3%87a%20plane%20%231%20%2850%25%20mix%29.mp3
Title2=Beyoncé & Björk - Ça plane
Length2=188
File3=file:///srv/lists/same%20folder.m4a
Title3=Tab here & <xml> "quotes"
Length3=60
NumberOfEntries=3
Version=2
